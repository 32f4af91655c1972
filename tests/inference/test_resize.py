import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mam_lib.inference.resize import RowResizer, source_rows


SIZES = [((768, 1024), (3000, 4000)), ((768, 1024), (480, 640)), ((577, 1024), (1731, 3071)),
         ((96, 128), (96, 500)), ((33, 17), (900, 13))]


# full_below=0: always a band of rows at a time; the default: small outputs resized whole (torch
# computes outputs of a few thousand pixels on a path without the fused multiply-add)
@pytest.mark.parametrize("src,dst,full_below", [(a, b, 0) for a, b in SIZES] + [(a, b, 4_000_000) for a, b in SIZES]
                         + [((48, 64), (40, 50), 4_000_000)])
def test_bands_of_rows_equal_one_full_resize_bit_for_bit(src, dst, full_below):
    source = torch.rand(1, 1, *src, generator=torch.Generator().manual_seed(sum(dst)))
    expected = F.interpolate(source, dst, mode="bilinear", align_corners=False)[0, 0]
    resizer = RowResizer(source, dst, full_below=full_below)
    step = max(1, dst[0] // 7)
    got = torch.cat([resizer.rows(r, min(r + step, dst[0])) for r in range(0, dst[0], step)])
    assert torch.equal(got, expected)
    assert torch.equal(resizer.full(), expected)
    c0, c1 = dst[1] // 5, dst[1] - dst[1] // 7
    assert torch.equal(RowResizer(source[0, 0], dst, cols=(c0, c1), full_below=full_below).rows(3, 9),
                       expected[3:9, c0:c1])


def test_source_rows_follow_the_half_pixel_rule():
    i0, i1, l0, l1 = source_rows(4, 8)  # ×2: output row i samples source (i + 0.5) / 2 − 0.5
    np.testing.assert_array_equal(i0, [0, 0, 0, 1, 1, 2, 2, 3])
    np.testing.assert_array_equal(i1, [1, 1, 1, 2, 2, 3, 3, 3])
    np.testing.assert_allclose(l1, [0, 0.25, 0.75, 0.25, 0.75, 0.25, 0.75, 0.25])
    np.testing.assert_allclose(l0 + l1, 1)
