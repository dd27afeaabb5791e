// JPEG decode/encode through libjpeg(-turbo) with setjmp error recovery (see sd_codecs.h).
// libjpeg's default error_exit calls exit(); ours longjmps back and reports the message.
#include "sd_codecs.h"
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    int truncated;  // "Premature end of JPEG file" is only a warning in libjpeg; we make it an error
} error_mgr;

static void on_error_exit(j_common_ptr cinfo) {
    error_mgr *e = (error_mgr *)cinfo->err;
    longjmp(e->jump, 1);
}

static void on_emit(j_common_ptr cinfo, int level) {
    error_mgr *e = (error_mgr *)cinfo->err;
    if (level == -1 && e->base.msg_code == JWRN_JPEG_EOF) e->truncated = 1;
}

static void on_output(j_common_ptr cinfo) { (void)cinfo; }

static void message(j_common_ptr cinfo, char *err, size_t errlen) {
    char buf[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, buf);
    snprintf(err, errlen, "%s", buf);
}

int sd_jpeg_decode(const uint8_t *data, size_t len, long long max_pixels, sd_image *out, char *err, size_t errlen) {
    memset(out, 0, sizeof(*out));
    if (len < 3 || data[0] != 0xFF || data[1] != 0xD8) {
        snprintf(err, errlen, "not a JPEG file");
        return 1;
    }
    struct jpeg_decompress_struct cinfo;
    error_mgr jerr;
    memset(&jerr, 0, sizeof(jerr));
    cinfo.err = jpeg_std_error(&jerr.base);
    jerr.base.error_exit = on_error_exit;
    jerr.base.emit_message = on_emit;
    jerr.base.output_message = on_output;
    uint8_t *volatile pixels = NULL;
    uint8_t *volatile row = NULL;
    if (setjmp(jerr.jump)) {
        message((j_common_ptr)&cinfo, err, errlen);
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(row);
        return 1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)len);
    jpeg_read_header(&cinfo, TRUE);
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    if (cinfo.jpeg_color_space == JCS_GRAYSCALE) cinfo.out_color_space = JCS_GRAYSCALE;
    else if (cmyk) cinfo.out_color_space = JCS_CMYK;
    else cinfo.out_color_space = JCS_RGB;
    long long pixels_claimed = (long long)cinfo.image_width * cinfo.image_height;
    if (cinfo.image_width > SD_MAX_SIDE || cinfo.image_height > SD_MAX_SIDE || pixels_claimed > max_pixels) {
        snprintf(err, errlen, "image is %ux%u = %lld pixels, above the limit of %lld (--max-pixels)",
                 cinfo.image_width, cinfo.image_height, pixels_claimed, max_pixels);
        jpeg_destroy_decompress(&cinfo);
        return SD_TOO_LARGE;
    }
    // Huffman coding spends at least 1 bit per 8×8 block (DC) in any scan layout, so a file under
    // pixels/512 bytes cannot hold the image its header claims; 4× margin below that bound.
    // (Arithmetic coding can go lower, so it is not judged.)
    if (!cinfo.arith_code && (double)len * 2048.0 < (double)pixels_claimed) {
        snprintf(err, errlen, "header claims %ux%u, more than a %zu-byte file can encode",
                 cinfo.image_width, cinfo.image_height, len);
        jpeg_destroy_decompress(&cinfo);
        return SD_BAD_DATA;
    }
    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height, nc = cinfo.output_components;
    int channels = cmyk ? 3 : nc;
    pixels = malloc((size_t)w * h * channels);
    row = malloc((size_t)w * nc);
    if (!pixels || !row) {
        snprintf(err, errlen, "out of memory");
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(row);
        return 1;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW rp = row;
        int y = (int)cinfo.output_scanline;
        if (jpeg_read_scanlines(&cinfo, &rp, 1) != 1) break;
        uint8_t *dst = pixels + (size_t)y * w * channels;
        if (cmyk) {
            // Adobe writes inverted CMYK; R = C·K/255 as Pillow's CMYK->RGB does for such files.
            for (int x = 0; x < w; x++) {
                unsigned k = row[x * 4 + 3];
                for (int c = 0; c < 3; c++) dst[x * 3 + c] = (uint8_t)((row[x * 4 + c] * k + 127) / 255);
            }
        } else {
            memcpy(dst, row, (size_t)w * nc);
        }
    }
    if (jerr.truncated || cinfo.output_scanline < cinfo.output_height) {
        snprintf(err, errlen, "file is truncated");
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(row);
        return 1;
    }
    jpeg_finish_decompress(&cinfo);
    if (jerr.truncated) {
        snprintf(err, errlen, "file is truncated");
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(row);
        return 1;
    }
    jpeg_destroy_decompress(&cinfo);
    free(row);
    out->width = w;
    out->height = h;
    out->channels = channels;
    out->bit_depth = 8;
    out->pixels = pixels;
    return 0;
}

int sd_jpeg_encode(const sd_image *img, int quality, uint8_t **out, size_t *out_len, char *err,
                   size_t errlen) {
    if ((img->channels != 1 && img->channels != 3) || img->bit_depth != 8) {
        snprintf(err, errlen, "JPEG needs 8-bit gray or RGB");
        return 1;
    }
    struct jpeg_compress_struct cinfo;
    error_mgr jerr;
    memset(&jerr, 0, sizeof(jerr));
    cinfo.err = jpeg_std_error(&jerr.base);
    jerr.base.error_exit = on_error_exit;
    jerr.base.output_message = on_output;
    unsigned char *buf = NULL;  // owned by jpeg_mem_dest until finished
    unsigned long buflen = 0;
    if (setjmp(jerr.jump)) {
        message((j_common_ptr)&cinfo, err, errlen);
        jpeg_destroy_compress(&cinfo);
        free(buf);
        return 1;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &buf, &buflen);
    cinfo.image_width = (JDIMENSION)img->width;
    cinfo.image_height = (JDIMENSION)img->height;
    cinfo.input_components = img->channels;
    cinfo.in_color_space = img->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    size_t stride = (size_t)img->width * img->channels;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW rp = (JSAMPROW)((uint8_t *)img->pixels + cinfo.next_scanline * stride);
        jpeg_write_scanlines(&cinfo, &rp, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    *out = buf;
    *out_len = buflen;
    return 0;
}
