import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mam_lib.inference.resize import RowResizer, source_rows


@pytest.mark.parametrize("full_below", [0, 4_000_000])  # banded resizing always / small outputs whole
@pytest.mark.parametrize("src,dst", [((768, 1024), (3000, 4000)), ((768, 1024), (480, 640)),
                                     ((577, 1024), (1731, 3071)), ((96, 128), (96, 500)), ((33, 17), (900, 13)),
                                     ((48, 64), (40, 50))])
def test_bands_of_rows_equal_one_full_resize_bit_for_bit(src, dst, full_below):
    if full_below == 0 and dst[0] * dst[1] < 8000:
        pytest.skip("torch resizes outputs this small without the fused multiply-add")
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
