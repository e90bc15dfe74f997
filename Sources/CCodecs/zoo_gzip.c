#include "zoo_codecs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int zoo_gunzip(const unsigned char *data, size_t size, size_t max_output,
               unsigned char **output, size_t *output_size, char *message, size_t message_size) {
    z_stream stream;
    memset(&stream, 0, sizeof stream);
    if (inflateInit2(&stream, 15 + 32) != Z_OK) {  /* 32: detect gzip or zlib headers */
        snprintf(message, message_size, "cannot start zlib");
        return 1;
    }
    size_t capacity = size * 4 + 1024;
    if (capacity > max_output) capacity = max_output;
    unsigned char *buffer = (unsigned char *)malloc(capacity ? capacity : 1);
    size_t used = 0;
    int status = Z_OK;
    stream.next_in = (unsigned char *)data;
    stream.avail_in = (uInt)(size > 0xFFFFFFFFu ? 0xFFFFFFFFu : size);
    while (buffer) {
        if (used == capacity) {
            if (capacity >= max_output) {
                snprintf(message, message_size, "it inflates to more than %zu bytes", max_output);
                status = Z_BUF_ERROR;
                break;
            }
            size_t grown = capacity * 2 > max_output ? max_output : capacity * 2;
            unsigned char *bigger = (unsigned char *)realloc(buffer, grown);
            if (!bigger) break;
            buffer = bigger;
            capacity = grown;
        }
        size_t room = capacity - used;
        stream.next_out = buffer + used;
        stream.avail_out = (uInt)(room > 0xFFFFFFFFu ? 0xFFFFFFFFu : room);
        status = inflate(&stream, Z_NO_FLUSH);
        used = (size_t)(stream.next_out - buffer);
        if (status == Z_STREAM_END) break;
        if (status != Z_OK) {
            snprintf(message, message_size, "its compressed data is corrupt or truncated (%s)", stream.msg ? stream.msg : "zlib error");
            break;
        }
        if (stream.avail_in == 0 && stream.avail_out != 0) {
            snprintf(message, message_size, "its compressed data is truncated");
            status = Z_DATA_ERROR;
            break;
        }
    }
    inflateEnd(&stream);
    if (!buffer) { snprintf(message, message_size, "out of memory"); return 1; }
    if (status != Z_STREAM_END) { free(buffer); return 1; }
    *output = buffer;
    *output_size = used;
    return 0;
}
