// Small C wrappers around libpng, libjpeg(-turbo) and zlib for ConvZoo's image and data modules.
// Both libraries report fatal errors through longjmp; Swift cannot use setjmp, so the jumps
// stay inside these functions, which return 0 on success and otherwise write one sentence
// into `message`. Nothing here calls exit(), and no allocation is made before the image's
// size has been checked against `max_pixels`.
#ifndef ZOO_CODECS_H
#define ZOO_CODECS_H

#include <stddef.h>

typedef struct {
    int width;
    int height;
    /// 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA (PNG) or CMYK (JPEG, see `cmyk`).
    int channels;
    /// JPEG only: the pixels are CMYK as stored; `adobe_inverted` when an Adobe marker says the
    /// values are inverted (as Photoshop writes them).
    int cmyk;
    int adobe_inverted;
    /// JPEG only: the EXIF orientation tag (1–8), or 0 when there is none.
    int orientation;
    /// PNG only: the file's bit depth, and for 16-bit gray without alpha the raw 16-bit
    /// samples in `pixels16` instead of `pixels`.
    int bit_depth;
    unsigned char *pixels;
    unsigned short *pixels16;
} zoo_image;

/// Decodes a PNG held in memory. 8-bit output: palette → RGB (transparency ignored), gray
/// below 8 bits scaled to 8, 16-bit samples reduced to their high byte — except 16-bit gray
/// without alpha, returned whole in `pixels16`.
int zoo_png_decode(const unsigned char *data, size_t size, long long max_pixels, zoo_image *image,
                   char *message, size_t message_size);

/// Decodes a JPEG held in memory to gray, RGB, or CMYK (CMYK and YCCK files).
/// A truncated or corrupt stream is an error, not a gray-filled image.
int zoo_jpeg_decode(const unsigned char *data, size_t size, long long max_pixels, zoo_image *image,
                    char *message, size_t message_size);

/// Encodes 8-bit gray (1), RGB (3) or RGBA (4) pixels; the result is malloc'd.
int zoo_png_encode(const unsigned char *pixels, int width, int height, int channels,
                   unsigned char **output, size_t *output_size, char *message, size_t message_size);

/// Encodes 8-bit gray (1) or RGB (3) pixels at `quality` (1–100); the result is malloc'd.
int zoo_jpeg_encode(const unsigned char *pixels, int width, int height, int channels, int quality,
                    unsigned char **output, size_t *output_size, char *message, size_t message_size);

/// Inflates gzip (or zlib) data into a malloc'd buffer of at most `max_output` bytes.
int zoo_gunzip(const unsigned char *data, size_t size, size_t max_output,
               unsigned char **output, size_t *output_size, char *message, size_t message_size);

void zoo_image_free(zoo_image *image);
void zoo_buffer_free(unsigned char *buffer);

#endif
