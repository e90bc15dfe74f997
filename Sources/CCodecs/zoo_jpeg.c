#include "zoo_codecs.h"

#include <stdio.h>  /* before jpeglib.h, which uses FILE */
#include <jpeglib.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    struct jpeg_error_mgr manager;
    jmp_buf jump;
    char *message;
    size_t message_size;
} jpeg_failure;

static void jpeg_fail(j_common_ptr cinfo) {
    jpeg_failure *failure = (jpeg_failure *)cinfo->err;
    if (failure->message[0] == 0) {
        char text[JMSG_LENGTH_MAX];
        (*cinfo->err->format_message)(cinfo, text);
        snprintf(failure->message, failure->message_size, "%s", text);
    }
    longjmp(failure->jump, 1);
}

/// libjpeg reports damaged data (a truncated file, say) as warnings and fills the rest with
/// gray; ConvZoo treats any warning as an error, as Pillow does.
static void jpeg_message(j_common_ptr cinfo, int level) {
    if (level < 0) jpeg_fail(cinfo);
}

/// The EXIF orientation (tag 0x0112 of IFD0) in an APP1 marker, or 0.
static int exif_orientation(const unsigned char *p, size_t n) {
    if (n < 14 || memcmp(p, "Exif\0\0", 6) != 0) return 0;
    const unsigned char *tiff = p + 6;
    size_t size = n - 6;
    int little = tiff[0] == 'I' && tiff[1] == 'I';
    if (!little && !(tiff[0] == 'M' && tiff[1] == 'M')) return 0;
#define U16(o) (little ? (unsigned)(tiff[(o)] | tiff[(o) + 1] << 8) : (unsigned)(tiff[(o)] << 8 | tiff[(o) + 1]))
#define U32(o) (little ? ((uint32_t)tiff[(o)] | (uint32_t)tiff[(o) + 1] << 8 | (uint32_t)tiff[(o) + 2] << 16 | (uint32_t)tiff[(o) + 3] << 24) \
                       : ((uint32_t)tiff[(o)] << 24 | (uint32_t)tiff[(o) + 1] << 16 | (uint32_t)tiff[(o) + 2] << 8 | (uint32_t)tiff[(o) + 3]))
    uint32_t ifd = U32(4);
    if (ifd > size - 2 || size < 8) return 0;
    unsigned count = U16(ifd);
    for (unsigned i = 0; i < count; i++) {
        size_t entry = (size_t)ifd + 2 + 12 * (size_t)i;
        if (entry + 12 > size) return 0;
        if (U16(entry) == 0x0112) {
            unsigned value = U16(entry + 8);
            return value >= 1 && value <= 8 ? (int)value : 0;
        }
    }
    return 0;
#undef U16
#undef U32
}

int zoo_jpeg_decode(const unsigned char *data, size_t size, long long max_pixels, zoo_image *image,
                    char *message, size_t message_size) {
    memset(image, 0, sizeof *image);
    if (message_size) message[0] = 0;
    struct jpeg_decompress_struct cinfo;
    jpeg_failure failure;
    failure.message = message;
    failure.message_size = message_size;
    cinfo.err = jpeg_std_error(&failure.manager);
    failure.manager.error_exit = jpeg_fail;
    failure.manager.emit_message = jpeg_message;
    unsigned char *volatile buffer = NULL;
    if (setjmp(failure.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(buffer);
        image->pixels = NULL;
        if (message[0] == 0) snprintf(message, message_size, "the JPEG data is corrupt");
        return 1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&cinfo, TRUE);
    if ((long long)cinfo.image_width * (long long)cinfo.image_height > max_pixels) {
        snprintf(message, message_size, "its header claims %ux%u pixels, more than the limit of %lld",
                 cinfo.image_width, cinfo.image_height, max_pixels);
        longjmp(failure.jump, 1);
    }
    for (jpeg_saved_marker_ptr marker = cinfo.marker_list; marker; marker = marker->next) {
        if (marker->marker == JPEG_APP0 + 1 && !image->orientation)
            image->orientation = exif_orientation(marker->data, marker->data_length);
    }
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        cinfo.out_color_space = JCS_CMYK;
        image->cmyk = 1;
        image->adobe_inverted = cinfo.saw_Adobe_marker;
    } else if (cinfo.jpeg_color_space == JCS_GRAYSCALE) {
        cinfo.out_color_space = JCS_GRAYSCALE;
    } else {
        cinfo.out_color_space = JCS_RGB;
    }
    jpeg_start_decompress(&cinfo);
    size_t row = (size_t)cinfo.output_width * cinfo.output_components;
    buffer = (unsigned char *)malloc(row * cinfo.output_height);
    if (!buffer) { snprintf(message, message_size, "out of memory"); longjmp(failure.jump, 1); }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW line = buffer + row * cinfo.output_scanline;
        jpeg_read_scanlines(&cinfo, &line, 1);
    }
    jpeg_finish_decompress(&cinfo);
    image->width = (int)cinfo.output_width;
    image->height = (int)cinfo.output_height;
    image->channels = cinfo.output_components;
    image->bit_depth = 8;
    image->pixels = buffer;
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

int zoo_jpeg_encode(const unsigned char *pixels, int width, int height, int channels, int quality,
                    unsigned char **output, size_t *output_size, char *message, size_t message_size) {
    struct jpeg_compress_struct cinfo;
    jpeg_failure failure;
    if (message_size) message[0] = 0;
    failure.message = message;
    failure.message_size = message_size;
    cinfo.err = jpeg_std_error(&failure.manager);
    failure.manager.error_exit = jpeg_fail;
    unsigned char *volatile memory = NULL;
    unsigned long volatile memory_size = 0;
    if (setjmp(failure.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(memory);
        return 1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, (unsigned char **)&memory, (unsigned long *)&memory_size);
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = channels;
    cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW line = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * width * channels);
        jpeg_write_scanlines(&cinfo, &line, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *output = memory;
    *output_size = memory_size;
    return 0;
}
