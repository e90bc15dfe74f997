#include "zoo_codecs.h"

#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const unsigned char *data;
    size_t size;
    size_t position;
    char *message;
    size_t message_size;
} png_reader;

static void png_fail(png_structp png, png_const_charp text) {
    png_reader *reader = (png_reader *)png_get_error_ptr(png);
    if (reader->message && reader->message[0] == 0) snprintf(reader->message, reader->message_size, "%s", text);
    png_longjmp(png, 1);
}

static void png_quiet(png_structp png, png_const_charp text) { (void)png; (void)text; }

static void png_read_memory(png_structp png, png_bytep out, png_size_t count) {
    png_reader *reader = (png_reader *)png_get_io_ptr(png);
    if (count > reader->size - reader->position) png_error(png, "the file is truncated");
    memcpy(out, reader->data + reader->position, count);
    reader->position += count;
}

int zoo_png_decode(const unsigned char *data, size_t size, long long max_pixels, zoo_image *image,
                   char *message, size_t message_size) {
    memset(image, 0, sizeof *image);
    if (message_size) message[0] = 0;
    png_reader reader = {data, size, 0, message, message_size};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &reader, png_fail, png_quiet);
    if (!png) { snprintf(message, message_size, "out of memory"); return 1; }
    png_infop info = png_create_info_struct(png);
    /* volatile: both change between setjmp and a longjmp, after which a non-volatile local
       may hold its value from the setjmp (NULL) and the allocation would leak (found by the
       png fuzz target under LeakSanitizer). */
    png_bytep *volatile rows = NULL;
    unsigned char *volatile buffer = NULL;
    if (!info) { png_destroy_read_struct(&png, NULL, NULL); snprintf(message, message_size, "out of memory"); return 1; }
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        free(buffer);
        png_destroy_read_struct(&png, &info, NULL);
        zoo_image_free(image);
        if (message[0] == 0) snprintf(message, message_size, "the PNG data is corrupt");
        return 1;
    }
    png_set_read_fn(png, &reader, png_read_memory);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);
    png_uint_32 width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    int depth = png_get_bit_depth(png, info), type = png_get_color_type(png, info);
    if ((long long)width * (long long)height > max_pixels) {
        snprintf(message, message_size, "its header claims %ux%u pixels, more than the limit of %lld", width, height, max_pixels);
        png_longjmp(png, 1);
    }
    image->width = (int)width;
    image->height = (int)height;
    image->bit_depth = depth;
    int gray16 = depth == 16 && type == PNG_COLOR_TYPE_GRAY;
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16 && !gray16) png_set_strip_16(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);
    if (row_bytes == 0 || height == 0 || row_bytes > SIZE_MAX / height) png_error(png, "its size is out of range");
    buffer = (unsigned char *)malloc(row_bytes * height);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * height);
    if (!buffer || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < height; y++) rows[y] = buffer + y * row_bytes;
    png_read_image(png, rows);
    free(rows);
    rows = NULL;
    image->channels = channels;
    if (gray16) {
        size_t count = (size_t)width * height;
        image->pixels16 = (unsigned short *)malloc(count * sizeof(unsigned short));
        if (!image->pixels16) png_error(png, "out of memory");
        for (size_t i = 0; i < count; i++) image->pixels16[i] = (unsigned short)(buffer[2 * i] << 8 | buffer[2 * i + 1]);
        free(buffer);
    } else {
        image->pixels = buffer;
    }
    buffer = NULL;
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
}

int zoo_png_encode(const unsigned char *pixels, int width, int height, int channels,
                   unsigned char **output, size_t *output_size, char *message, size_t message_size) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)width;
    image.height = (png_uint_32)height;
    image.format = channels == 1 ? PNG_FORMAT_GRAY : channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_RGBA;
    png_alloc_size_t size = 0;
    if (!png_image_write_to_memory(&image, NULL, &size, 0, pixels, 0, NULL)) {
        snprintf(message, message_size, "%s", image.message);
        return 1;
    }
    *output = (unsigned char *)malloc(size);
    if (!*output) { snprintf(message, message_size, "out of memory"); return 1; }
    if (!png_image_write_to_memory(&image, *output, &size, 0, pixels, 0, NULL)) {
        snprintf(message, message_size, "%s", image.message);
        free(*output);
        *output = NULL;
        return 1;
    }
    *output_size = size;
    return 0;
}

void zoo_image_free(zoo_image *image) {
    free(image->pixels);
    free(image->pixels16);
    image->pixels = NULL;
    image->pixels16 = NULL;
}

void zoo_buffer_free(unsigned char *buffer) { free(buffer); }
