"""The SAM stage agrees with segment-anything's own SamPredictor and checks its prompts."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from segment_anything import SamPredictor

from mam_lib.errors import CheckpointError, PromptError
from mam_lib.inference.sam import (IMAGE_SIZE, SamMaskPredictor, TinySamConfig, build_sam, build_tiny_sam, crop_features,
                         normalise_and_pad, pad_to_sam, sam_features_and_masks, sam_variant_of)


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(3)
    img = np.zeros((240, 320, 3), np.uint8)
    img[...] = rng.integers(0, 255, (1, 1, 3))
    img[60:200, 80:260] = rng.integers(0, 255, 3)
    return np.clip(img.astype(int) + rng.integers(-20, 20, img.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("prompt", [
    dict(box=np.array([70, 50, 270, 210])),
    dict(points=np.array([[150, 120]]), labels=np.array([1])),
    dict(points=np.array([[150, 120], [20, 20]]), labels=np.array([1, 0]), box=np.array([70, 50, 270, 210])),
])
def test_chosen_mask_equals_sampredictor(tiny_sam, image, prompt):
    ours = SamMaskPredictor(tiny_sam)
    enc = ours.set_image(image)
    pred = ours.predict(**prompt)

    ref = SamPredictor(tiny_sam)
    ref.set_image(image)
    masks, iou, low_res = ref.predict(point_coords=prompt.get("points"), point_labels=prompt.get("labels"),
                                      box=prompt.get("box"), multimask_output=True)
    best = int(np.argmax(iou))
    assert pred.index == best
    np.testing.assert_array_equal(pred.mask, masks[best])
    np.testing.assert_allclose(pred.logits_lowres[0].numpy(), low_res[best], atol=1e-5)
    np.testing.assert_array_equal(pred.mask_lowres[0, 0].numpy(), (low_res[best] > 0).astype(np.float32))
    assert pred.mask_lowres.shape == (1, 1, 256, 256)
    assert enc.features.shape == (1, 256, 64, 64)
    assert enc.image.shape == (1, 3, IMAGE_SIZE, IMAGE_SIZE)
    assert torch.allclose(enc.features, ref.features)


def test_mask_prompt_round_trip(tiny_sam, image):
    ours = SamMaskPredictor(tiny_sam)
    ours.set_image(image)
    first = ours.predict(box=[70, 50, 270, 210])
    again = ours.predict(box=[70, 50, 270, 210], mask_input=first.logits_lowres)
    ref = SamPredictor(tiny_sam)
    ref.set_image(image)
    masks, iou, _ = ref.predict(box=np.array([70, 50, 270, 210]), mask_input=first.logits_lowres.numpy())
    np.testing.assert_array_equal(again.mask, masks[int(np.argmax(iou))])


def test_image_is_normalised_and_padded_like_sam(tiny_sam, image):
    ours = SamMaskPredictor(tiny_sam)
    enc = ours.set_image(image)
    h, w = enc.input_size
    assert max(h, w) == IMAGE_SIZE and enc.original_size == (240, 320)
    assert torch.count_nonzero(enc.image[..., h:, :]) == 0  # zero padding at the bottom
    mean = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)
    resized = torch.as_tensor(ours.predictor.transform.apply_image(image)).permute(2, 0, 1).float()
    assert torch.allclose(enc.image[0, :, :h, :w], (resized - mean) / std, atol=1e-5)


def test_batched_form_matches_single_image_path(tiny_sam):
    rng = np.random.default_rng(0)
    images = torch.as_tensor(rng.integers(0, 255, (2, 3, 1024, 1024)), dtype=torch.float32)
    boxes = torch.tensor([[100.0, 100, 600, 700], [300, 200, 900, 900]])
    feats, masks = sam_features_and_masks(tiny_sam, normalise_and_pad(images), boxes, crop=False)
    assert feats.shape == (2, 256, 64, 64) and masks.shape == (2, 1, 256, 256)
    assert set(torch.unique(masks).tolist()) <= {0.0, 1.0}
    assert not feats.requires_grad
    single = SamMaskPredictor(tiny_sam)
    for i in range(2):
        single.set_image(images[i].permute(1, 2, 0).numpy().astype(np.uint8))
        pred = single.predict(box=boxes[i].numpy())
        assert torch.allclose(feats[i:i + 1], single.encoding.features, atol=1e-4)
        agree = (masks[i] == pred.mask_lowres[0]).float().mean()
        assert agree > 0.999


def test_batched_form_crops_to_the_input(tiny_sam):
    images = torch.randn(1, 3, 256, 192)
    feats, masks = sam_features_and_masks(tiny_sam, images, torch.tensor([[10.0, 10, 150, 200]]))
    assert feats.shape == (1, 256, 16, 12) and masks.shape == (1, 1, 64, 48)
    with pytest.raises(PromptError, match="multiples of 16"):
        sam_features_and_masks(tiny_sam, torch.randn(1, 3, 100, 100), torch.tensor([[0.0, 0, 50, 50]]))
    with pytest.raises(PromptError, match="one box per image"):
        sam_features_and_masks(tiny_sam, images, torch.tensor([[0.0, 0, 50, 50], [1, 1, 2, 2]]))


@pytest.mark.parametrize("prompt, message", [
    (dict(box=[10, 10, 5, 50]), "empty box"),
    (dict(box=[400, 300, 500, 400]), "outside"),
    (dict(box=[1, 2, 3]), "four numbers"),
    (dict(points=[[500, 10]]), "outside"),
    (dict(points=[[5, 10], [6, 7]], labels=[1]), "labels"),
    (dict(points=[[5, 10]], labels=[2]), "1 \\(foreground\\) or 0"),
    (dict(), "give a prompt"),
])
def test_bad_prompts_are_named(tiny_sam, image, prompt, message):
    ours = SamMaskPredictor(tiny_sam)
    ours.set_image(image)
    with pytest.raises(PromptError, match=message):
        ours.predict(**prompt)


def test_predict_before_set_image_is_explained(tiny_sam):
    with pytest.raises(PromptError, match="set_image"):
        SamMaskPredictor(tiny_sam).predict(box=[0, 0, 5, 5])


def test_builders_are_frozen_seeded_and_named():
    a, b = build_sam("tiny", seed=5), build_sam("tiny", seed=5)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not any(p.requires_grad for p in a.parameters()) and not a.training
    assert sam_variant_of(a) == "tiny"
    with pytest.raises(CheckpointError, match="unknown SAM variant"):
        build_sam("vit_x")
    with pytest.raises(CheckpointError, match="does not exist"):
        build_sam("vit_b", "/nonexistent/sam.pth")


def test_tiny_encoder_attention_layouts():
    """The default tiny encoder attends in windows only; global attention stays available."""
    windowed = build_tiny_sam()
    global_one = build_tiny_sam(TinySamConfig(global_attn_indexes=(1,)))
    assert all(block.window_size == 14 for block in windowed.image_encoder.blocks)
    assert [block.window_size for block in global_one.image_encoder.blocks] == [14, 0]
    x = torch.zeros(1, 3, IMAGE_SIZE, IMAGE_SIZE)
    with torch.no_grad():
        assert windowed.image_encoder(x).shape == global_one.image_encoder(x).shape == (1, 256, 64, 64)


@pytest.mark.parametrize("size", [(128, 128), (96, 208), (224, 32), (1024, 1024)])
def test_crop_features_equal_the_padded_encoder(size):
    """Computing only the windows that touch a crop gives the features of the whole padded image."""
    images = torch.randn(2, 3, *size, generator=torch.Generator().manual_seed(sum(size)))
    for sam in (build_tiny_sam(), build_tiny_sam(TinySamConfig(global_attn_indexes=(1,)))):
        with torch.no_grad():
            full = sam.image_encoder(pad_to_sam(images))[..., : size[0] // 16, : size[1] // 16]
        assert torch.allclose(crop_features(sam, images), full, atol=1e-5)
    with pytest.raises(PromptError, match="multiples of 16"):
        crop_features(build_tiny_sam(), torch.zeros(1, 3, 100, 128))


def test_vit_b_from_registry_has_published_shapes(tmp_path):
    sam = build_sam("vit_b")
    assert sam_variant_of(sam) == "vit_b"
    assert sam.image_encoder.patch_embed.proj.out_channels == 768
    assert len(sam.image_encoder.blocks) == 12
    # a SAM checkpoint of another variant is refused with a readable message
    torch.save(build_sam("tiny").state_dict(), tmp_path / "tiny.pth")
    with pytest.raises(CheckpointError, match="another SAM variant"):
        build_sam("vit_b", tmp_path / "tiny.pth")
