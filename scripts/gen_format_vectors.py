"""
Reference vectors for the formats of issue 11 (BMP, GIF, WebP, AVIF, CMYK/YCCK JPEG, EXIF orientation),
written into test/fixtures/image/formats.json by scripts/gen-image-vectors.py (which imports this file).

Expectations are Pillow's `Image.open(f).convert('RGB')` (first frame), and for orientation
`ImageOps.exif_transpose`. Pillow 9.4 cannot read AVIF, so AVIF's reference is libavif's own `avifdec`
(Debian's libavif-bin) writing an 8-bit PNG that Pillow then reads. Test files come from Pillow's
writers, from the command-line tools (cwebp, gif2webp, avifenc, ImageMagick's convert) and from small
hand-written encoders below (BMP variants, GIF layouts Pillow does not write).
"""
import io
import re
import os
import struct
import subprocess
import tempfile

import numpy as np
from PIL import Image, ImageOps

# Largest per-byte difference and mean difference allowed for the lossy decoders, measured with
# `npx vitest run test/core/image-formats.test.ts` (which prints what it measures) and kept here so
# that the test and docs/api.md state one number. None of the lossless formats has a tolerance.
# WebP needs none: @jsquash/webp's libwebp decodes lossy files exactly as Pillow's libwebp 1.2.4 does.
TOLERANCE = {
    # libavif 1.0.1 (npm) and 0.11.1 (Debian's avifdec) convert YUV to RGB with different rounding, and
    # upsample 4:2:0 chroma slightly differently: +-1..3 on photo-like content, isolated larger steps on
    # 4:2:0 pure noise (the worst case; photos are not noise).
    'avif': {'maxAbs': 3, 'meanAbs': 0.4},
    'avif-noise': {'maxAbs': 34, 'meanAbs': 0.7},
    'cmyk': {'maxAbs': 2, 'meanAbs': 0.5},
}


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def tool(args, src_png, suffix):
    """Runs a converter on a PNG written from `src_png` (bytes) and returns the output file's bytes."""
    with tempfile.TemporaryDirectory() as d:
        inp = os.path.join(d, 'in.png')
        out = os.path.join(d, 'out' + suffix)
        with open(inp, 'wb') as f:
            f.write(src_png)
        run([a.replace('IN', inp).replace('OUT', out) for a in args])
        with open(out, 'rb') as f:
            return f.read()


def png_bytes(im):
    buf = io.BytesIO()
    im.save(buf, 'PNG')
    return buf.getvalue()


def saved(im, fmt, **kw):
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


# ---------------------------------------------------------------- BMP writer

def bmp_file(w, h, bits, rows, palette=None, compression=0, masks=None, header_size=40, top_down=False, raw_data=None):
    """rows: h lists of per-pixel values in display order (index, u16, (b,g,r) or 4-tuple of bytes)."""
    if raw_data is None:
        stride = ((w * bits + 31) // 32) * 4
        stored = rows if top_down else rows[::-1]
        data = b''
        for row in stored:
            if bits < 8:
                acc, nbits, out = 0, 0, bytearray()
                for v in row:
                    acc = (acc << bits) | v
                    nbits += bits
                    if nbits == 8:
                        out.append(acc)
                        acc, nbits = 0, 0
                if nbits:
                    out.append(acc << (8 - nbits))
                rb = bytes(out)
            elif bits == 8:
                rb = bytes(row)
            elif bits == 16:
                rb = b''.join(struct.pack('<H', v) for v in row)
            else:
                rb = b''.join(bytes(v) for v in row)
            data += rb + b'\0' * (stride - len(rb))
    else:
        data = raw_data
    entry = 3 if header_size == 12 else 4
    pal = b''
    if palette is not None:
        pal = b''.join(bytes([b, g, r]) + (b'\0' if entry == 4 else b'') for r, g, b in palette)
    extra = b''
    if header_size == 12:
        dib = struct.pack('<IHHHH', 12, w, h, 1, bits)
    else:
        dib = struct.pack('<IiiHHIIiiII', header_size, w, -h if top_down else h, 1, bits, compression, len(data), 2835, 2835,
                          len(palette) if palette is not None else 0, 0)
        tail = b''
        if masks is not None and header_size == 40:
            extra = struct.pack('<III', *masks[:3])
        elif header_size > 40:
            m = list(masks or [0, 0, 0, 0]) + [0] * 4
            tail = struct.pack('<IIII', *m[:4])
        dib += tail
        dib += b'\0' * (header_size - len(dib))
    offset = 14 + len(dib) + len(extra) + len(pal)
    head = b'BM' + struct.pack('<IHHI', offset + len(data), 0, 0, offset)
    return head + dib + extra + pal + data


def rle8(rows):
    """Encoded runs of equal pixels and even-length absolute runs, end of line after each row, end of bitmap."""
    out = bytearray()
    for row in rows[::-1]:
        x = 0
        while x < len(row):
            n = 1
            while x + n < len(row) and row[x + n] == row[x] and n < 255:
                n += 1
            if n >= 3 or len(row) - x < 4:
                out += bytes([n, row[x]])
                x += n
            else:
                k = min(4, len(row) - x) // 2 * 2
                out += bytes([0, k]) + bytes(row[x:x + k])
                x += k
        out += b'\0\0'
    out += b'\0\1'
    return bytes(out)


def rle4(rows):
    out = bytearray()
    for row in rows[::-1]:
        x = 0
        while x < len(row):
            if len(row) - x >= 4 and x % 3 == 0:
                quad = row[x:x + 4]
                out += bytes([0, 4, (quad[0] << 4) | quad[1], (quad[2] << 4) | quad[3]])
                x += 4
            else:
                n = min(len(row) - x, 5)
                out += bytes([n, (row[x] << 4) | row[x + 1 if x + 1 < len(row) else x]])
                # An encoded run of n pixels alternates the two nibbles: that is what it stores.
                for i in range(n):
                    row[x + i] = row[x] if i % 2 == 0 else row[x + 1 if x + 1 < len(row) else x]
                x += n
        out += b'\0\0'
    out += b'\0\1'
    return bytes(out)


def bmp_cases(g):
    rnd = g.xorshift32(101)
    r = lambda bits: next(rnd) >> (32 - bits)
    W, H = 9, 6
    pal16 = [(r(8), r(8), r(8)) for _ in range(16)]
    pal5 = [(r(8), r(8), r(8)) for _ in range(5)]
    cases = []
    add = lambda name, data: cases.append((name, data))
    smooth = Image.fromarray(g.smooth_image(23, 17, 102), 'RGB')
    add('Pillow RGB (24-bit)', saved(smooth, 'BMP'))
    add('Pillow RGBA (32-bit)', saved(Image.fromarray(g.noise_image(23, 17, 103), 'RGB').convert('RGBA'), 'BMP'))
    add('Pillow L (8-bit grey palette)', saved(smooth.convert('L'), 'BMP'))
    add('Pillow P (8-bit palette)', saved(smooth.quantize(32), 'BMP'))
    add('Pillow 1 (1-bit)', saved(smooth.convert('1'), 'BMP'))
    add('1-bit, two colours', bmp_file(W, H, 1, [[r(1) for _ in range(W)] for _ in range(H)], palette=pal16[:2]))
    add('4-bit, 16 colours', bmp_file(W, H, 4, [[r(4) for _ in range(W)] for _ in range(H)], palette=pal16))
    add('8-bit, 5 colours, indices past the palette', bmp_file(W, H, 8, [[r(8) for _ in range(W)] for _ in range(H)], palette=pal5))
    add('8-bit, top-down', bmp_file(W, H, 8, [[r(3) for _ in range(W)] for _ in range(H)], palette=pal5 + pal16[:3], top_down=True))
    every15 = [[(x + 32 * y) * 33 % 65536 for x in range(32)] for y in range(4)]
    add('16-bit X1R5G5B5 (every 5-bit value)', bmp_file(32, 4, 16, [[(v & 0x7fff) | (x % 32) | ((x % 32) << 5) << 0 if y == 0 else v for x, v in enumerate(row)] for y, row in enumerate(every15)]))
    add('16-bit bitfields 5-6-5 (every 6-bit green)', bmp_file(64, 3, 16, [[((x % 32) << 11) | (x << 5) | (31 - x % 32) if y == 0 else r(16) for x in range(64)] for y in range(3)], compression=3, masks=[0xf800, 0x7e0, 0x1f]))
    add('16-bit bitfields 5-5-5', bmp_file(W, H, 16, [[r(16) for _ in range(W)] for _ in range(H)], compression=3, masks=[0x7c00, 0x3e0, 0x1f]))
    add('24-bit, top-down, odd width', bmp_file(W, H, 24, [[(r(8), r(8), r(8)) for _ in range(W)] for _ in range(H)], top_down=True))
    add('32-bit BGRX', bmp_file(W, H, 32, [[(r(8), r(8), r(8), r(8)) for _ in range(W)] for _ in range(H)]))
    px32 = [[(r(8), r(8), r(8), r(8)) for _ in range(W)] for _ in range(H)]
    add('32-bit bitfields BGRX (40-byte header)', bmp_file(W, H, 32, px32, compression=3, masks=[0xff0000, 0xff00, 0xff]))
    add('32-bit v4 bitfields RGBA', bmp_file(W, H, 32, px32, compression=3, masks=[0xff, 0xff00, 0xff0000, 0xff000000], header_size=108))
    add('32-bit v5 bitfields XBGR', bmp_file(W, H, 32, px32, compression=3, masks=[0xff000000, 0xff0000, 0xff00, 0], header_size=124))
    add('32-bit v4 bitfields ABGR', bmp_file(W, H, 32, px32, compression=3, masks=[0xff000000, 0xff0000, 0xff00, 0xff], header_size=108))
    add('OS/2 core header, 24-bit', bmp_file(W, H, 24, [[(r(8), r(8), r(8)) for _ in range(W)] for _ in range(H)], header_size=12))
    add('OS/2 core header, 8-bit palette', bmp_file(W, H, 8, [[r(3) for _ in range(W)] for _ in range(H)], palette=pal16[:8], header_size=12))
    rows8 = [[(x // 3 + y) % 7 if y % 2 else r(3) for x in range(W + 4)] for y in range(H)]
    add('RLE8', bmp_file(W + 4, H, 8, None, palette=pal16[:8], compression=1, raw_data=rle8([list(row) for row in rows8])))
    rows4 = [[r(4) for _ in range(W + 3)] for _ in range(H)]
    add('RLE4', bmp_file(W + 3, H, 4, None, palette=pal16, compression=2, raw_data=rle4([list(row) for row in rows4])))
    src = png_bytes(smooth)
    add('ImageMagick 8-bit RLE', tool(['convert', 'IN', '-colors', '60', '-compress', 'RLE', 'BMP3:OUT'], src, '.bmp'))
    add('ImageMagick 4-bit', tool(['convert', 'IN', '-colors', '12', 'BMP3:OUT'], src, '.bmp'))
    add('ImageMagick RGB565', tool(['convert', 'IN', '-define', 'bmp:subtype=RGB565', 'OUT'], src, '.bmp'))
    add('ImageMagick v5 32-bit with alpha', tool(['convert', 'IN', '-alpha', 'set', '-channel', 'A', '-evaluate', 'set', '50%', 'BMP:OUT'], src, '.bmp'))
    return cases


# ---------------------------------------------------------------- GIF writer

def lzw_plain(indices, min_code_size):
    """LZW without compression: a clear code before every run of clear-2 literals keeps the code width fixed."""
    clear = 1 << min_code_size
    width = min_code_size + 1
    codes = []
    for i in range(0, len(indices), clear - 2):
        codes.append(clear)
        codes.extend(indices[i:i + clear - 2])
    codes.append(clear + 1)
    acc, nbits, out = 0, 0, bytearray()
    for c in codes:
        acc |= c << nbits
        nbits += width
        while nbits >= 8:
            out.append(acc & 0xff)
            acc >>= 8
            nbits -= 8
    if nbits:
        out.append(acc & 0xff)
    blocks = b''.join(bytes([len(out[i:i + 255])]) + bytes(out[i:i + 255]) for i in range(0, len(out), 255))
    return bytes([min_code_size]) + blocks + b'\0'


def gif_file(sw, sh, frames, global_palette=None, background=0):
    """frames: dicts with left, top, w, h, indices (row-major, display order), optional palette, transparent, interlace."""
    def pal_bytes(p):
        bits = max(1, (len(p) - 1).bit_length())
        padded = list(p) + [(0, 0, 0)] * ((1 << bits) - len(p))
        return bits, b''.join(bytes(c) for c in padded)
    out = b'GIF89a' + struct.pack('<HH', sw, sh)
    if global_palette is not None:
        bits, pb = pal_bytes(global_palette)
        out += bytes([0x80 | (bits - 1), background, 0]) + pb
    else:
        out += bytes([0, 0, 0])
    for f in frames:
        if f.get('transparent') is not None:
            out += b'\x21\xf9\x04' + bytes([1]) + struct.pack('<H', 10) + bytes([f['transparent'], 0])
        flags = 0x40 if f.get('interlace') else 0
        pb = b''
        if f.get('palette') is not None:
            bits, pb = pal_bytes(f['palette'])
            flags |= 0x80 | (bits - 1)
        out += b',' + struct.pack('<HHHH', f['left'], f['top'], f['w'], f['h']) + bytes([flags]) + pb
        idx = f['indices']
        if f.get('interlace'):
            order = list(range(0, f['h'], 8)) + list(range(4, f['h'], 8)) + list(range(2, f['h'], 4)) + list(range(1, f['h'], 2))
            idx = [idx[y * f['w'] + x] for y in order for x in range(f['w'])]
        out += lzw_plain(idx, max(2, f.get('code_size', 2)))
    return out + b';'


def gif_cases(g):
    rnd = g.xorshift32(201)
    r = lambda bits: next(rnd) >> (32 - bits)
    pal = [(r(8), r(8), r(8)) for _ in range(4)]
    pal8 = [(r(8), r(8), r(8)) for _ in range(8)]
    frame = lambda left, top, w, h, bits=2, **kw: dict(left=left, top=top, w=w, h=h, indices=[r(bits) for _ in range(w * h)], code_size=max(2, bits), **kw)
    smooth = Image.fromarray(g.smooth_image(23, 17, 202), 'RGB')
    noise = Image.fromarray(g.noise_image(23, 17, 203), 'RGB')
    cases = []
    add = lambda name, data: cases.append((name, data))
    add('Pillow P (adaptive palette)', saved(smooth, 'GIF'))
    add('Pillow P with transparency', saved(smooth.quantize(16), 'GIF', transparency=3))
    add('Pillow L (grey palette)', saved(smooth.convert('L'), 'GIF'))
    add('Pillow animated (first frame used)', saved(smooth.quantize(32), 'GIF', save_all=True, append_images=[noise.quantize(32)], duration=100, loop=0))
    add('Pillow noise, 256 colours', saved(noise.quantize(256), 'GIF'))
    add('ImageMagick interlaced', tool(['convert', 'IN', '-interlace', 'GIF', 'OUT'], png_bytes(smooth), '.gif'))
    add('frame inside the screen (rest is index 0)', gif_file(12, 9, [frame(2, 1, 7, 5)], global_palette=pal))
    add('frame inside the screen, transparent index fills the rest', gif_file(12, 9, [frame(3, 2, 6, 5, transparent=2)], global_palette=pal))
    add('frame past the screen grows the canvas', gif_file(6, 5, [frame(2, 3, 7, 4)], global_palette=pal))
    add('local palette, no global palette', gif_file(7, 5, [frame(0, 0, 7, 5, bits=3, palette=pal8)]))
    add('no palette at all (indices as grey)', gif_file(7, 5, [frame(0, 0, 7, 5, bits=3)]))
    add('indices past a 4-colour palette', gif_file(7, 5, [frame(0, 0, 7, 5, bits=3)], global_palette=pal))
    add('interlaced, 13 rows', gif_file(5, 13, [frame(0, 0, 5, 13, interlace=True)], global_palette=pal))
    add('local palette overrides global', gif_file(7, 5, [frame(0, 0, 7, 5, bits=3, palette=pal8)], global_palette=pal))
    return cases


# ---------------------------------------------------------------- WebP, AVIF, CMYK

def webp_cases(g):
    smooth = Image.fromarray(g.smooth_image(29, 21, 301), 'RGB')
    noise = Image.fromarray(g.noise_image(29, 21, 302), 'RGB')
    rgba = smooth.convert('RGBA')
    a = np.asarray(rgba).copy()
    a[:, :, 3] = (np.arange(29)[None, :] * 9 + np.arange(21)[:, None] * 3) % 256
    a[::4, ::3, 3] = 0
    rgba = Image.fromarray(a, 'RGBA')
    cases = [
        ('Pillow lossy q80', saved(smooth, 'WEBP', quality=80), None),
        ('Pillow lossy noise q95', saved(noise, 'WEBP', quality=95), None),
        ('Pillow lossless', saved(noise, 'WEBP', lossless=True), None),
        ('Pillow lossy with alpha', saved(rgba, 'WEBP', quality=85), None),
        ('Pillow lossless with alpha (exact)', saved(rgba, 'WEBP', lossless=True, exact=True), None),
        ('cwebp lossy -q 70', tool(['cwebp', '-quiet', '-q', '70', 'IN', '-o', 'OUT'], png_bytes(smooth), '.webp'), None),
        ('cwebp lossy -sharp_yuv', tool(['cwebp', '-quiet', '-sharp_yuv', 'IN', '-o', 'OUT'], png_bytes(noise), '.webp'), None),
        ('cwebp lossless -z 9', tool(['cwebp', '-quiet', '-lossless', '-z', '9', 'IN', '-o', 'OUT'], png_bytes(smooth), '.webp'), None),
        ('cwebp lossy with alpha', tool(['cwebp', '-quiet', '-q', '80', 'IN', '-o', 'OUT'], png_bytes(rgba), '.webp'), None),
        ('cwebp lossless with alpha -exact', tool(['cwebp', '-quiet', '-lossless', '-exact', 'IN', '-o', 'OUT'], png_bytes(rgba), '.webp'), None),
    ]
    # Animated: Pillow reads the first frame (WebPAnimDecoder: transparent black canvas, frame at its offset).
    anim_gif = saved(smooth.quantize(64), 'GIF', save_all=True, append_images=[noise.quantize(64)], duration=100, loop=0)
    cases.append(('gif2webp animated, lossless frames', tool(['gif2webp', '-quiet', 'IN', '-o', 'OUT'], anim_gif, '.webp'), None))
    cases.append(('gif2webp animated, lossy frames', tool(['gif2webp', '-quiet', '-lossy', 'IN', '-o', 'OUT'], anim_gif, '.webp'), None))
    cases.append(('Pillow animated with alpha', saved(rgba, 'WEBP', save_all=True, append_images=[noise.convert('RGBA')], duration=100, quality=85), None))
    small = Image.fromarray(g.noise_image(9, 7, 303), 'RGB')
    small_rgba = small.convert('RGBA')
    small_rgba.putalpha(Image.fromarray((np.arange(63).reshape(7, 9) * 4).astype(np.uint8), 'L'))
    cases.append(('animated, first frame at an offset on a larger canvas (lossless)', anim_webp(19, 15, 2, 4, riff_chunks(saved(small, 'WEBP', lossless=True)), 7, 9), None))
    cases.append(('animated, first frame at an offset (lossy + ALPH)', anim_webp(19, 15, 6, 2, riff_chunks(saved(small_rgba, 'WEBP', quality=90)), 7, 9), None))
    return cases


def riff_chunks(data):
    """The chunks of a still WebP after the RIFF header, VP8X dropped: (fourcc, payload)."""
    out, pos = [], 12
    while pos + 8 <= len(data):
        t, n = data[pos:pos + 4], struct.unpack('<I', data[pos + 4:pos + 8])[0]
        if t != b'VP8X':
            out.append((t, data[pos + 8:pos + 8 + n]))
        pos += 8 + n + (n & 1)
    return out


def anim_webp(cw, ch, x, y, frame_chunks, h, w):
    """An animated WebP with one ANMF frame of w x h at (x, y) (even offsets) on a cw x ch canvas."""
    def chunk(t, payload):
        return t + struct.pack('<I', len(payload)) + payload + (b'\0' if len(payload) & 1 else b'')
    u24 = lambda v: struct.pack('<I', v)[:3]
    frame = u24(x // 2) + u24(y // 2) + u24(w - 1) + u24(h - 1) + u24(100) + bytes([0]) + b''.join(chunk(t, p) for t, p in frame_chunks)
    body = b'WEBP' + chunk(b'VP8X', bytes([0x12, 0, 0, 0]) + u24(cw - 1) + u24(ch - 1)) + chunk(b'ANIM', bytes([0, 0, 0, 0, 0, 0])) + chunk(b'ANMF', frame)
    return b'RIFF' + struct.pack('<I', len(body)) + body


def avifdec_rgb(data):
    with tempfile.TemporaryDirectory() as d:
        inp, out = os.path.join(d, 'in.avif'), os.path.join(d, 'out.png')
        with open(inp, 'wb') as f:
            f.write(data)
        run(['avifdec', '--depth', '8', '-u', 'best', inp, out])
        return np.asarray(Image.open(out).convert('RGB'))


def avif_cases(g):
    smooth = Image.fromarray(g.smooth_image(29, 21, 401), 'RGB')
    noise = Image.fromarray(g.noise_image(29, 21, 402), 'RGB')
    rgba = np.asarray(smooth.convert('RGBA')).copy()
    rgba[:, :, 3] = 200
    rgba[::3, ::2, 3] = 0
    alpha = png_bytes(Image.fromarray(rgba, 'RGBA'))
    enc = lambda src, *args: tool(['avifenc', '-j', '1', '-s', '8', *args, 'IN', 'OUT'], src, '.avif')
    return [
        ('avifenc 4:2:0 q60', enc(png_bytes(smooth), '-y', '420', '--min', '20', '--max', '30')),
        ('avifenc 4:4:4 q80', enc(png_bytes(smooth), '-y', '444', '--min', '10', '--max', '20')),
        ('avifenc 4:2:0 noise q90', enc(png_bytes(noise), '-y', '420', '--min', '5', '--max', '10')),
        ('avifenc 10-bit 4:4:4', enc(png_bytes(smooth), '-d', '10', '-y', '444', '--min', '10', '--max', '20')),
        ('avifenc with alpha', enc(alpha, '-y', '420', '--min', '15', '--max', '25')),
        ('avifenc lossless', enc(png_bytes(noise), '-l')),
    ]


def cmyk_cases(g):
    smooth = Image.fromarray(g.smooth_image(29, 21, 501), 'RGB')
    noise = Image.fromarray(g.noise_image(16, 16, 502), 'RGB')
    pil = saved(smooth.convert('CMYK'), 'JPEG', quality=90)
    # APP14: FF EE, a 2-byte length, then "Adobe".
    app14 = pil.index(b'Adobe') - 4 if b'Adobe' in pil and pil[pil.index(b'Adobe') - 4:pil.index(b'Adobe') - 2] == b'\xff\xee' else -1
    cases = [
        ('Pillow CMYK q90 (Adobe, inverted)', pil),
        ('Pillow CMYK progressive q85', saved(smooth.convert('CMYK'), 'JPEG', quality=85, progressive=True)),
        ('Pillow CMYK noise q95', saved(noise.convert('CMYK'), 'JPEG', quality=95)),
        ('ImageMagick CMYK', tool(['convert', 'IN', '-colorspace', 'CMYK', '-quality', '90', 'OUT'], png_bytes(smooth), '.jpg')),
        ('ImageMagick YCCK (Adobe transform 2)', tool(['convert', 'IN', '-colorspace', 'CMYK', '-define', 'jpeg:colorspace=YCCK', '-quality', '90', 'OUT'], png_bytes(smooth), '.jpg')),
    ]
    if app14 >= 0:
        seg_len = struct.unpack('>H', pil[app14 + 2:app14 + 4])[0]
        cases.append(('CMYK without an Adobe marker (Pillow still assumes inverted)', pil[:app14] + pil[app14 + 2 + seg_len:]))
    return cases


# ---------------------------------------------------------------- EXIF orientation

def exif_bytes(orientation, big_endian=False):
    if big_endian:
        return b'MM\0\x2a' + struct.pack('>I', 8) + struct.pack('>H', 1) + struct.pack('>HHIHH', 0x0112, 3, 1, orientation, 0) + b'\0\0\0\0'
    e = Image.Exif()
    e[0x0112] = orientation
    return e.tobytes()


def exif_cases(g):
    base = Image.fromarray(g.smooth_image(11, 7, 601), 'RGB')
    cases = [(f'JPEG orientation {o}', saved(base, 'JPEG', quality=95, exif=exif_bytes(o))) for o in range(1, 9)]
    jpeg = saved(base, 'JPEG', quality=95)
    mm = b'Exif\0\0' + exif_bytes(3, big_endian=True)
    cases.append(('JPEG orientation 3, big-endian TIFF', jpeg[:2] + b'\xff\xe1' + struct.pack('>H', len(mm) + 2) + mm + jpeg[2:]))
    cases.append(('PNG eXIf orientation 6', saved(base, 'PNG', exif=exif_bytes(6))))
    cases.append(('WebP lossless EXIF orientation 8', saved(base, 'WEBP', lossless=True, exif=exif_bytes(8))))
    cases.append(('JPEG orientation 9 (invalid: as stored)', saved(base, 'JPEG', quality=95, exif=exif_bytes(9))))
    return cases


def error_cases(g):
    smooth = Image.fromarray(g.smooth_image(29, 21, 701), 'RGB')
    bmp = saved(smooth, 'BMP')
    gif = saved(smooth, 'GIF')
    webp = saved(smooth, 'WEBP', quality=80)
    avif = tool(['avifenc', '-j', '1', '-s', '8', 'IN', 'OUT'], png_bytes(smooth), '.avif')
    cmyk = saved(smooth.convert('CMYK'), 'JPEG', quality=90)
    # 3000x3000 of one colour compresses to a few hundred bytes; its ispe box is then rewritten to 10x10.
    big = tool(['avifenc', '-j', '1', '-s', '10', 'IN', 'OUT'], png_bytes(Image.new('RGB', (3000, 3000), (10, 200, 30))), '.avif')
    at = big.index(b'ispe')
    lying_avif = big[:at + 8] + struct.pack('>II', 10, 10) + big[at + 16:]
    bad_masks = bmp_file(3, 2, 32, [[(1, 2, 3, 4)] * 3] * 2, compression=3, masks=[0xff00, 0xff, 0xff0000, 0], header_size=108)
    two_bit = bmp_file(4, 2, 2, None, palette=[(0, 0, 0)] * 4, raw_data=b'\0' * 8)
    return [
        ('BMP truncated in the pixels', bmp[:len(bmp) // 2], 'InvalidImageError'),
        ('BMP 2-bit (no such depth)', two_bit, 'UnsupportedMediaTypeError'),
        ('BMP unsupported bitfield masks', bad_masks, 'UnsupportedMediaTypeError'),
        ('GIF truncated in the image data', gif[:len(gif) * 2 // 3], 'InvalidImageError'),
        ('WebP truncated', webp[:len(webp) // 2], 'InvalidImageError'),
        ('AVIF truncated', avif[:len(avif) * 3 // 4], 'InvalidImageError'),
        ('CMYK JPEG truncated', cmyk[:len(cmyk) * 2 // 3], 'InvalidImageError'),
        ('animated WebP whose first frame does not fit the canvas', anim_webp(8, 8, 2, 2, riff_chunks(saved(Image.new('RGB', (9, 7)), 'WEBP', lossless=True)), 7, 9), 'InvalidImageError'),
        ('AVIF whose ispe says 10x10 over a 3000x3000 AV1 frame', lying_avif, 'InvalidImageError'),
    ]


def pillow_outcome(data):
    try:
        Image.open(io.BytesIO(data)).convert('RGB')
        return 'decodes'
    except Exception as exc:  # noqa: BLE001 - recorded for the reader
        # Object addresses in Pillow's messages change every run.
        return re.sub(r' at 0x[0-9a-f]+', '', f'{type(exc).__name__}: {exc}')


def vectors(g):
    def entry(name, data, fmt, rgb, tolerance=None, extra=None):
        e = {'name': name, 'format': fmt, 'file': g.b64(data), 'width': int(rgb.shape[1]), 'height': int(rgb.shape[0]),
             'expected': g.u8_expected(rgb, full_limit=20000)}
        if tolerance is not None:
            e['tolerance'] = tolerance
        e.update(extra or {})
        return e

    def pil_rgb(data, name=''):
        try:
            im = Image.open(io.BytesIO(data))
            return im.mode, np.asarray(im.convert('RGB'))
        except Exception as exc:
            raise RuntimeError(f'Pillow cannot decode the case "{name}": {exc}') from exc

    cases = []
    for fmt, gen in [('bmp', bmp_cases), ('gif', gif_cases)]:
        for name, data in gen(g):
            mode, rgb = pil_rgb(data, name)
            cases.append(entry(name, data, fmt, rgb, extra={'pillowMode': mode}))
    for name, data, tol in webp_cases(g):
        mode, rgb = pil_rgb(data, name)
        cases.append(entry(name, data, 'webp', rgb, tol, {'pillowMode': mode}))
    for name, data in avif_cases(g):
        cases.append(entry(name, data, 'avif', avifdec_rgb(data), 'avif-noise' if 'noise' in name else 'avif', {'reference': 'avifdec --depth 8 -u best (libavif ' + subprocess.run(['avifdec', '--version'], capture_output=True, text=True).stdout.split()[1] + ')'}))
    for name, data in cmyk_cases(g):
        mode, rgb = pil_rgb(data, name)
        im = Image.open(io.BytesIO(data))
        cases.append(entry(name, data, 'jpeg', rgb, 'cmyk', {'pillowMode': mode, 'adobeTransform': im.info.get('adobe_transform')}))
    exif = []
    for name, data in exif_cases(g):
        im = Image.open(io.BytesIO(data))
        stored = np.asarray(im.convert('RGB'))
        shown = np.asarray(ImageOps.exif_transpose(im).convert('RGB'))
        exif.append({'name': name, 'file': g.b64(data), 'orientation': im.getexif().get(0x0112, 1),
                     'applied': {'width': int(shown.shape[1]), 'height': int(shown.shape[0]), 'expected': g.u8_expected(shown)},
                     'ignored': {'width': int(stored.shape[1]), 'height': int(stored.shape[0]), 'expected': g.u8_expected(stored)}})
    errors = [{'name': n, 'file': g.b64(d), 'error': e, 'pillow': pillow_outcome(d)} for n, d, e in error_cases(g)]
    return {'tolerances': TOLERANCE, 'cases': cases, 'exif': exif, 'errors': errors}


# ---------------------------------------------------------------- one picture in every format

def same_picture(g, shared):
    """Test pictures from the shared CIFAR-10 set, written in every accepted format: the worker test posts each
    and expects the PNG's top label (the lossy formats are written near-lossless)."""
    out = []
    for rel in ['cifar10-fewshot/test/airplane/0000.jpg', 'cifar10-fewshot/test/ship/0001.jpg', 'cifar10-fewshot/test/frog/0002.jpg']:
        # Reduced to 256 colours first, so that the GIF holds exactly the pixels the PNG holds.
        im = Image.open(os.path.join(shared, rel)).convert('RGB').quantize(256, dither=Image.Dither.NONE).convert('RGB')
        rotated = im.transpose(Image.Transpose.ROTATE_90)  # stored so that orientation 6 shows `im`
        files = {
            'png': saved(im, 'PNG'),
            'bmp': saved(im, 'BMP'),
            'gif': saved(im, 'GIF'),
            'webp-lossless': saved(im, 'WEBP', lossless=True),
            'webp-lossy': saved(im, 'WEBP', quality=95),
            'avif': tool(['avifenc', '-j', '1', '-s', '8', '-y', '444', '--min', '0', '--max', '8', 'IN', 'OUT'], png_bytes(im), '.avif'),
            'jpeg-cmyk': saved(im.convert('CMYK'), 'JPEG', quality=95),
            'jpeg-exif6': saved(rotated, 'JPEG', quality=95, subsampling=0, exif=exif_bytes(6)),
        }
        out.append({'source': rel, 'files': {k: g.b64(v) for k, v in files.items()}})
    return out
