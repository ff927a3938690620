#!/usr/bin/python3
"""
Writes the reference vectors for src/core/image into test/fixtures/image/*.json, computed with Pillow
(and numpy for a hand-written copy of transformers' CLIPImageProcessor, which is not installed here).

Run with Debian's python (it has python3-pil and python3-numpy):
    /usr/bin/python3 scripts/gen-image-vectors.py

Source images come from a xorshift32 generator that test/core/image-test-utils.ts reimplements, so big
inputs are regenerated rather than stored. Big outputs are stored as sha256 + sampled values; small
ones in full (base64).
"""
import base64
import glob
import hashlib
import io
import json
import os
import struct
import sys
import zlib

import numpy as np
import PIL
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'image')
SHARED = os.path.join(os.path.dirname(ROOT), 'shared', 'datasets')


# ---------------------------------------------------------------- deterministic source images

def xorshift32(seed):
    x = seed & 0xFFFFFFFF or 0x9E3779B9
    while True:
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        yield x


def noise_image(w, h, seed):
    """Every byte is the top byte of the next xorshift32 state."""
    g = xorshift32(seed)
    data = bytes(next(g) >> 24 for _ in range(w * h * 3))
    return np.frombuffer(data, dtype=np.uint8).reshape(h, w, 3)


def smooth_image(w, h, seed):
    """Gradients plus a little noise: closer to a photo than pure noise (same formula in TS)."""
    g = xorshift32(seed)
    a = np.zeros((h, w, 3), dtype=np.uint8)
    for y in range(h):
        for x in range(w):
            n = next(g)
            a[y, x, 0] = min(255, (x * 200) // max(1, w - 1) + ((n >> 24) & 31))
            a[y, x, 1] = min(255, (y * 200) // max(1, h - 1) + ((n >> 16) & 31))
            a[y, x, 2] = min(255, ((x + y) * 220) // max(1, w + h - 2) + ((n >> 8) & 31))
    return a


def source(spec):
    fn = {'noise': noise_image, 'smooth': smooth_image}[spec['kind']]
    return fn(spec['width'], spec['height'], spec['seed'])


# ---------------------------------------------------------------- encoding helpers

def b64(b):
    return base64.b64encode(bytes(b)).decode('ascii')


def sha256(b):
    return hashlib.sha256(bytes(b)).hexdigest()


def sample_indices(n, count=24):
    if n <= count:
        return list(range(n))
    return [k * (n - 1) // (count - 1) for k in range(count)]


def u8_expected(arr, full_limit=8000):
    flat = np.ascontiguousarray(arr, dtype=np.uint8).reshape(-1)
    if flat.size <= full_limit:
        return {'b64': b64(flat.tobytes())}
    idx = sample_indices(flat.size)
    return {'sha256': sha256(flat.tobytes()), 'samples': [[i, int(flat[i])] for i in idx]}


def f32_expected(arr, full_limit=4096):
    flat = np.ascontiguousarray(arr, dtype='<f4').reshape(-1)
    out = {'length': int(flat.size), 'sha256': sha256(flat.tobytes()), 'sum': float(flat.astype(np.float64).sum())}
    if flat.size <= full_limit:
        out['b64'] = b64(flat.tobytes())
    else:
        out['samples'] = [[i, float(flat[i])] for i in sample_indices(flat.size, 48)]
    return out


# ---------------------------------------------------------------- resize vectors

FILTERS = {'lanczos': Image.LANCZOS, 'bilinear': Image.BILINEAR, 'bicubic': Image.BICUBIC, 'box': Image.BOX, 'hamming': Image.HAMMING}


def resize_vectors():
    n37 = {'kind': 'noise', 'width': 37, 'height': 23, 'seed': 1}
    cases = [
        ('noise 37x23 -> 51x32 (short edge 32)', n37, None, (51, 32), 'bicubic', None),
        ('noise 7x5 -> 44x32 (upscale)', {'kind': 'noise', 'width': 7, 'height': 5, 'seed': 2}, None, (44, 32), 'bicubic', None),
        ('smooth 97x61 -> 40x25 (ratio 2.43)', {'kind': 'smooth', 'width': 97, 'height': 61, 'seed': 3}, None, (40, 25), 'bicubic', None),
        ('noise 123x77 -> 50x31 (ratio 2.46/2.48)', {'kind': 'noise', 'width': 123, 'height': 77, 'seed': 4}, None, (50, 31), 'bicubic', None),
        ('smooth 640x480 -> 298x224 (CLIP 224)', {'kind': 'smooth', 'width': 640, 'height': 480, 'seed': 5}, None, (298, 224), 'bicubic', None),
        ('noise 640x480 -> 298x224 (CLIP 224, clipping)', {'kind': 'noise', 'width': 640, 'height': 480, 'seed': 6}, None, (298, 224), 'bicubic', None),
        ('noise 37x23 -> 20x23 (horizontal only)', n37, None, (20, 23), 'bicubic', None),
        ('noise 37x23 -> 37x10 (vertical only)', n37, None, (37, 10), 'bicubic', None),
        ('noise 37x23 -> 37x23 (same size: copy)', n37, None, (37, 23), 'bicubic', None),
        ('noise 1x1 -> 5x3', {'kind': 'noise', 'width': 1, 'height': 1, 'seed': 7}, None, (5, 3), 'bicubic', None),
        ('noise 1x9 -> 4x2', {'kind': 'noise', 'width': 1, 'height': 9, 'seed': 8}, None, (4, 2), 'bicubic', None),
        ('noise 500x3 -> 7x2 (wide kernel)', {'kind': 'noise', 'width': 500, 'height': 3, 'seed': 9}, None, (7, 2), 'bicubic', None),
        ('noise 37x23 box (3.5, 2.25, 30.75, 20) -> 13x9', n37, (3.5, 2.25, 30.75, 20.0), (13, 9), 'bicubic', None),
        ('noise 37x23 crop (5, 3, 22, 17) then -> 16x16 (random resized crop path)', n37, None, (16, 16), 'bicubic', (5, 3, 22, 17)),
    ]
    for name in ['lanczos', 'bilinear', 'box', 'hamming']:
        cases.append((f'noise 37x23 -> 20x13 ({name})', n37, None, (20, 13), name, None))
        cases.append((f'noise 7x5 -> 17x12 ({name}, upscale)', {'kind': 'noise', 'width': 7, 'height': 5, 'seed': 2}, None, (17, 12), name, None))
    out = []
    for name, spec, box, size, filt, crop in cases:
        im = Image.fromarray(source(spec), 'RGB')
        if crop is not None:
            left, top, w, h = crop
            im = im.crop((left, top, left + w, top + h))
        res = im.resize(size, FILTERS[filt], box=box)
        case = {'name': name, 'source': spec, 'width': size[0], 'height': size[1], 'filter': filt}
        if box is not None:
            case['box'] = list(box)
        if crop is not None:
            case['crop'] = {'left': crop[0], 'top': crop[1], 'width': crop[2], 'height': crop[3]}
        case['expected'] = u8_expected(np.asarray(res))
        out.append(case)
    return out


# ---------------------------------------------------------------- PNG vectors

def chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xFFFFFFFF)


def pack_row(samples, depth):
    if depth == 8:
        return bytes(samples)
    if depth == 16:
        return b''.join(struct.pack('>H', s) for s in samples)
    out, acc, nbits = bytearray(), 0, 0
    for s in samples:
        acc = (acc << depth) | s
        nbits += depth
        if nbits == 8:
            out.append(acc)
            acc, nbits = 0, 0
    if nbits:
        out.append(acc << (8 - nbits))
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def raw_png(w, h, depth, ctype, pixels, plte=None, trns=None, interlace=False, iend=True):
    """pixels: h rows of w tuples of samples. Filter 0 everywhere (Pillow-written files cover the others)."""
    rows = []
    if interlace:
        for x0, y0, dx, dy in ADAM7:
            xs = list(range(x0, w, dx))
            if not xs:
                continue
            for y in range(y0, h, dy):
                rows.append(pack_row([s for x in xs for s in pixels[y][x]], depth))
    else:
        rows = [pack_row([s for p in row for s in p], depth) for row in pixels]
    raw = b''.join(b'\x00' + r for r in rows)
    out = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, depth, ctype, 0, 0, 1 if interlace else 0))
    if plte is not None:
        out += chunk(b'PLTE', plte)
    if trns is not None:
        out += chunk(b'tRNS', trns)
    out += chunk(b'IDAT', zlib.compress(raw))
    if iend:
        out += chunk(b'IEND', b'')
    return out


def grid(w, h, fn):
    return [[fn(x, y) for x in range(w)] for y in range(h)]


def pil_png(arr_or_im, mode=None, **kw):
    im = arr_or_im if isinstance(arr_or_im, Image.Image) else Image.fromarray(arr_or_im, mode)
    buf = io.BytesIO()
    im.save(buf, 'PNG', **kw)
    return buf.getvalue()


def png_vectors():
    g = xorshift32(11)
    r = lambda bits: next(g) >> (32 - bits)
    W, H = 9, 5
    cases = []
    add = lambda name, data: cases.append((name, data))
    add('grey 1-bit', raw_png(W, H, 1, 0, grid(W, H, lambda x, y: (r(1),))))
    add('grey 2-bit', raw_png(W, H, 2, 0, grid(W, H, lambda x, y: (r(2),))))
    add('grey 4-bit', raw_png(W, H, 4, 0, grid(W, H, lambda x, y: (r(4),))))
    add('grey 8-bit + tRNS', raw_png(W, H, 8, 0, grid(W, H, lambda x, y: (r(8),)), trns=struct.pack('>H', 7)))
    grey16 = [0, 1, 254, 255, 256, 1000, 65535, 300, 128]
    add('grey 16-bit (scaled v >> 8)', raw_png(W, H, 16, 0, grid(W, H, lambda x, y: (grey16[x] if y == 0 else r(16),))))
    add('grey+alpha 8-bit', raw_png(W, H, 8, 4, grid(W, H, lambda x, y: (r(8), r(8)))))
    add('grey+alpha 16-bit', raw_png(W, H, 16, 4, grid(W, H, lambda x, y: (r(16), r(16)))))
    add('RGB 16-bit', raw_png(W, H, 16, 2, grid(W, H, lambda x, y: (r(16), r(16), r(16)))))
    add('RGB 8-bit + tRNS', raw_png(W, H, 8, 2, grid(W, H, lambda x, y: (r(8), r(8), r(8))), trns=struct.pack('>HHH', 1, 2, 3)))
    add('RGBA 16-bit', raw_png(W, H, 16, 6, grid(W, H, lambda x, y: (r(16), r(16), r(16), r(16)))))
    add('RGBA 8-bit (alpha 0 keeps colour)', raw_png(W, H, 8, 6, grid(W, H, lambda x, y: (r(8), r(8), r(8), 0 if x % 2 else r(8)))))
    plte = bytes(r(8) for _ in range(3 * 5))  # 5 entries: indices 5.. read Pillow's default grey ramp
    add('palette 1-bit', raw_png(W, H, 1, 3, grid(W, H, lambda x, y: (r(1),)), plte=plte))
    add('palette 2-bit + tRNS', raw_png(W, H, 2, 3, grid(W, H, lambda x, y: (r(2),)), plte=plte, trns=bytes([0, 128])))
    add('palette 4-bit, indices past PLTE', raw_png(W, H, 4, 3, grid(W, H, lambda x, y: (r(4),)), plte=plte))
    add('palette 8-bit, indices past PLTE', raw_png(W, H, 8, 3, grid(W, H, lambda x, y: ((x * 31 + y * 7) % 256,)), plte=plte))
    add('interlaced RGB 8-bit', raw_png(W, H, 8, 2, grid(W, H, lambda x, y: (r(8), r(8), r(8))), interlace=True))
    add('interlaced RGBA 16-bit', raw_png(W, H, 16, 6, grid(W, H, lambda x, y: (r(16), r(16), r(16), r(16))), interlace=True))
    add('interlaced palette 8-bit', raw_png(W, H, 8, 3, grid(W, H, lambda x, y: (r(3),)), plte=plte, interlace=True))
    add('no IEND', raw_png(W, H, 8, 2, grid(W, H, lambda x, y: (r(8), r(8), r(8))), iend=False))
    # Files written by Pillow: adaptive row filters (Sub, Up, Average, Paeth), real zlib streams.
    add('Pillow RGB 8-bit (filtered)', pil_png(smooth_image(23, 17, 12), 'RGB'))
    add('Pillow RGB noise (filtered)', pil_png(noise_image(23, 17, 13), 'RGB'))
    add('Pillow L', pil_png(Image.fromarray(smooth_image(23, 17, 14), 'RGB').convert('L')))
    add('Pillow LA', pil_png(Image.fromarray(smooth_image(23, 17, 15), 'RGB').convert('LA')))
    add('Pillow RGBA', pil_png(Image.fromarray(noise_image(23, 17, 16), 'RGB').convert('RGBA')))
    add('Pillow 1', pil_png(Image.fromarray(smooth_image(23, 17, 17), 'RGB').convert('1')))
    add('Pillow P (quantized)', pil_png(Image.fromarray(smooth_image(23, 17, 18), 'RGB').quantize(16)))
    add('Pillow I;16', pil_png(Image.fromarray((noise_image(23, 17, 19)[:, :, 0].astype(np.uint16) * 3), 'I;16')))

    out = []
    for name, data in cases:
        im = Image.open(io.BytesIO(data))
        mode = im.mode
        rgb = np.asarray(im.convert('RGB'))
        case = {'name': name, 'png': b64(data), 'pillowMode': mode}
        if mode in ('I', 'I;16'):
            # 16-bit grey: Pillow's I -> RGB clips to 255 (a grey photo turns white); the decoder scales
            # v >> 8 like every other 16-bit sample, so that is the expectation (Pillow's pixels beside it).
            grey = (np.asarray(im).astype(np.uint32) >> 8).astype(np.uint8)
            case['pillowRgbDiffers'] = u8_expected(rgb)
            rgb = np.repeat(grey[:, :, None], 3, axis=2)
        out.append({**case, 'width': rgb.shape[1], 'height': rgb.shape[0], 'expected': u8_expected(rgb)})

    full = raw_png(W, H, 8, 2, grid(W, H, lambda x, y: (r(8), r(8), r(8))))
    idat_at = full.index(b'IDAT') - 4
    idat_len = struct.unpack('>I', full[idat_at:idat_at + 4])[0]
    truncated = full[:idat_at + 8 + idat_len // 2]
    errors = [
        {'name': 'truncated inside IDAT', 'png': b64(truncated), 'error': 'InvalidImageError'},
        {'name': 'interlaced 2-bit (unsupported)', 'png': b64(raw_png(W, H, 2, 0, grid(W, H, lambda x, y: (r(2),)), interlace=True)), 'error': 'UnsupportedMediaTypeError'},
    ]
    for e in errors:
        try:
            Image.open(io.BytesIO(base64.b64decode(e['png']))).convert('RGB')
            e['pillow'] = 'decodes'
        except Exception as exc:  # noqa: BLE001 - recorded for the reader
            e['pillow'] = f'{type(exc).__name__}: {exc}'
    return out, errors


# ---------------------------------------------------------------- JPEG vectors

def jpeg_vectors():
    base = Image.fromarray(smooth_image(37, 29, 21), 'RGB')
    variants = [
        ('4:4:4 q90', base, dict(quality=90, subsampling=0)),
        ('4:2:2 q90', base, dict(quality=90, subsampling=1)),
        ('4:2:0 q75', base, dict(quality=75, subsampling=2)),
        ('progressive 4:2:0', base, dict(quality=80, progressive=True)),
        ('optimized huffman q60', base, dict(quality=60, optimize=True)),
        ('greyscale', base.convert('L'), dict(quality=85)),
        ('noise 4:2:0 q95 (clipping)', Image.fromarray(noise_image(37, 29, 22), 'RGB'), dict(quality=95)),
        ('odd 1x1', Image.fromarray(noise_image(1, 1, 23), 'RGB'), dict(quality=90)),
    ]
    out = []
    for name, im, opts in variants:
        buf = io.BytesIO()
        im.save(buf, 'JPEG', **opts)
        data = buf.getvalue()
        dec = Image.open(io.BytesIO(data))
        rgb = np.asarray(dec.convert('RGB'))
        out.append({'name': name, 'jpeg': b64(data), 'pillowMode': dec.mode, 'width': rgb.shape[1], 'height': rgb.shape[0],
                    'expected': {'sha256': sha256(rgb.tobytes()), 'samples': [[i, int(rgb.reshape(-1)[i])] for i in sample_indices(rgb.size)]}})
    buf = io.BytesIO()
    im = Image.fromarray(smooth_image(8, 8, 24), 'RGB')
    im.save(buf, 'JPEG', quality=90, subsampling=0)
    # An arithmetic-coded or otherwise undecodable body behind a valid header: here a 3-component
    # frame whose scan is cut off right after its header.
    data = buf.getvalue()
    sos = data.index(b'\xff\xda')
    broken = {'name': 'scan header only', 'jpeg': b64(data[:sos + 14]), 'error': 'InvalidImageError'}
    return out, broken


def dataset_digest(pattern):
    """sha256 over the Pillow RGB bytes of every file, in sorted path order, plus per-file hashes of the first few."""
    files = sorted(glob.glob(os.path.join(SHARED, pattern)))
    h = hashlib.sha256()
    first = []
    for i, path in enumerate(files):
        rgb = np.asarray(Image.open(path).convert('RGB'))
        h.update(rgb.tobytes())
        if i < 5:
            first.append({'path': os.path.relpath(path, SHARED), 'sha256': sha256(rgb.tobytes())})
    return {'pattern': pattern, 'count': len(files), 'sha256': h.hexdigest(), 'first': first}


# ---------------------------------------------------------------- CLIP processor (hand-written transformers copy)

OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def size_dict(size, default_to_square):
    if isinstance(size, dict):
        return size
    if isinstance(size, int):
        return {'height': size, 'width': size} if default_to_square else {'shortest_edge': size}
    return {'height': size[0], 'width': size[1]}


def hf_clip_preprocess(pil_image, cfg):
    """transformers CLIPImageProcessor.preprocess (slow path) step by step, for one image; returns CHW float32."""
    size = size_dict(cfg.get('size', {'shortest_edge': 224}), False)
    crop = size_dict(cfg.get('crop_size', {'height': 224, 'width': 224}), True)
    resample = cfg.get('resample', 3)
    mean = cfg.get('image_mean', OPENAI_CLIP_MEAN)
    std = cfg.get('image_std', OPENAI_CLIP_STD)
    image = pil_image if pil_image.mode == 'RGB' else pil_image.convert('RGB')  # convert_to_rgb
    image = np.array(image)  # to_numpy_array: HWC uint8
    if cfg.get('do_resize', True):
        h, w = image.shape[:2]
        if 'shortest_edge' in size:  # get_resize_output_image_size(default_to_square=False)
            short, long = (w, h) if w <= h else (h, w)
            new_short, new_long = size['shortest_edge'], int(size['shortest_edge'] * long / short)
            out_h, out_w = (new_long, new_short) if w <= h else (new_short, new_long)
        else:
            out_h, out_w = size['height'], size['width']
        image = np.array(Image.fromarray(image).resize((out_w, out_h), resample=resample, reducing_gap=None))
    if cfg.get('do_center_crop', True):  # image_transforms.center_crop, channels first
        image = image.transpose(2, 0, 1)
        orig_h, orig_w = image.shape[1:]
        ch, cw = crop['height'], crop['width']
        top = (orig_h - ch) // 2
        bottom = top + ch
        left = (orig_w - cw) // 2
        right = left + cw
        if top >= 0 and bottom <= orig_h and left >= 0 and right <= orig_w:
            image = image[..., top:bottom, left:right]
        else:
            new_h, new_w = max(ch, orig_h), max(cw, orig_w)
            padded = np.zeros_like(image, shape=image.shape[:-2] + (new_h, new_w))
            top_pad = -(-(new_h - orig_h) // 2)
            left_pad = -(-(new_w - orig_w) // 2)
            padded[..., top_pad:top_pad + orig_h, left_pad:left_pad + orig_w] = image
            top, bottom, left, right = top + top_pad, bottom + top_pad, left + left_pad, right + left_pad
            image = padded[..., max(0, top):min(new_h, bottom), max(0, left):min(new_w, right)]
        image = image.transpose(1, 2, 0)
    if cfg.get('do_rescale', True):  # image_transforms.rescale: float64 multiply, then float32
        image = (image.astype(np.float64) * cfg.get('rescale_factor', 1 / 255)).astype(np.float32)
    if cfg.get('do_normalize', True):  # image_transforms.normalize: float32 throughout
        if not np.issubdtype(image.dtype, np.floating):
            image = image.astype(np.float32)
        m = mean if isinstance(mean, list) else [mean] * 3
        s = std if isinstance(std, list) else [std] * 3
        image = (image - np.array(m, dtype=image.dtype)) / np.array(s, dtype=image.dtype)
    return np.ascontiguousarray(image.transpose(2, 0, 1)).astype(np.float32)


def clip_vectors():
    with open(os.path.join(ROOT, 'artifacts', 'models', 'tiny-clip-cifar10', 'preprocessor_config.json')) as f:
        tiny = json.load(f)
    openai = {  # openai/clip-vit-base-patch32's legacy CLIPFeatureExtractor config (ints for sizes)
        'crop_size': 224, 'do_center_crop': True, 'do_normalize': True, 'do_resize': True,
        'feature_extractor_type': 'CLIPFeatureExtractor', 'image_mean': OPENAI_CLIP_MEAN, 'image_std': OPENAI_CLIP_STD,
        'resample': 3, 'size': 224,
    }
    small_legacy = {'size': 20, 'crop_size': 16, 'resample': 3}
    padded = {'size': {'shortest_edge': 10}, 'crop_size': {'height': 14, 'width': 12}}
    fixed_bilinear = {'size': {'height': 12, 'width': 20}, 'crop_size': [10, 12], 'resample': 2, 'rescale_factor': 0.0039,
                      'image_mean': 0.5, 'image_std': [0.25, 0.3, 0.2]}
    no_rescale = {'size': {'shortest_edge': 16}, 'crop_size': 16, 'do_rescale': False, 'image_mean': [120.5, 110, 100.25], 'image_std': [60, 61.5, 59]}
    no_normalize = {'size': {'shortest_edge': 16}, 'crop_size': 16, 'do_normalize': False}

    cifar = 'cifar10-fewshot/test/airplane/0000.jpg'
    sketch = 'cifar10-sketch-fewshot/test/bird/0010.png'
    smooth640 = {'kind': 'smooth', 'width': 640, 'height': 480, 'seed': 31}
    noise37 = {'kind': 'noise', 'width': 37, 'height': 23, 'seed': 32}
    noise19x41 = {'kind': 'noise', 'width': 19, 'height': 41, 'seed': 33}
    cases = [
        ('tiny model config, cifar JPEG (no resize)', tiny, {'shared': cifar}),
        ('tiny model config, sketch PNG', tiny, {'shared': sketch}),
        ('tiny model config, smooth 640x480', tiny, {'generated': smooth640}),
        ('openai 224 config, smooth 640x480', openai, {'generated': smooth640}),
        ('openai 224 config, cifar JPEG (upscale)', openai, {'shared': cifar}),
        ('openai 224 config, sketch PNG', openai, {'shared': sketch}),
        ('legacy int sizes 20/16, noise 37x23', small_legacy, {'generated': noise37}),
        ('legacy int sizes 20/16, noise 19x41 (portrait)', small_legacy, {'generated': noise19x41}),
        ('crop larger than image (zero padding)', padded, {'generated': noise37}),
        ('fixed size + bilinear + scalar mean', fixed_bilinear, {'generated': noise37}),
        ('no rescale', no_rescale, {'generated': noise37}),
        ('no normalize', no_normalize, {'generated': noise37}),
    ]
    out = []
    for name, cfg, src in cases:
        if 'shared' in src:
            pil = Image.open(os.path.join(SHARED, src['shared']))
        else:
            pil = Image.fromarray(source(src['generated']), 'RGB')
        arr = hf_clip_preprocess(pil, cfg)
        out.append({'name': name, 'config': cfg, 'image': src, 'shape': list(arr.shape), 'expected': f32_expected(arr)})
    return out


def write(name, obj):
    path = os.path.join(OUT, name)
    with open(path, 'w') as f:
        json.dump(obj, f, separators=(',', ':'))
        f.write('\n')
    print(f'{os.path.relpath(path, ROOT)}: {os.path.getsize(path)} bytes')


def main():
    os.makedirs(OUT, exist_ok=True)
    meta = {'generator': 'scripts/gen-image-vectors.py', 'pillow': PIL.__version__, 'numpy': np.__version__}
    write('resize.json', {**meta, 'cases': resize_vectors()})
    png_cases, png_errors = png_vectors()
    write('png.json', {**meta, 'cases': png_cases, 'errors': png_errors})
    jpeg_cases, broken = jpeg_vectors()
    write('jpeg.json', {**meta, 'cases': jpeg_cases, 'errors': [broken],
                        'datasets': [dataset_digest('cifar10-fewshot/*/*/*.jpg'), dataset_digest('cifar10-sketch-fewshot/*/*/*.png')]})
    write('clip.json', {**meta, 'cases': clip_vectors()})
    import gen_format_vectors  # noqa: E402 - the formats added for issue 11, kept in their own file
    write('formats.json', {**meta, **gen_format_vectors.vectors(sys.modules[__name__])})
    write('same-picture.json', {**meta, 'pictures': gen_format_vectors.same_picture(sys.modules[__name__], SHARED)})


if __name__ == '__main__':
    sys.exit(main())
