"""Letterbox geometry: placement, tensor content and the exact inverse mapping."""

from __future__ import annotations

import numpy as np
import pytest

from gstreamed.detect.preprocess import PAD_VALUE, Letterbox, Preprocessor, as_rgb


@pytest.mark.parametrize(
    ("frame", "net", "scale", "pad_x", "pad_y"),
    [
        ((720, 1280), (640, 640), 0.5, 0, 140),  # landscape: bars top and bottom
        ((1280, 720), (640, 640), 0.5, 140, 0),  # portrait: bars left and right
        ((640, 640), (640, 640), 1.0, 0, 0),  # exact fit
        ((240, 320), (384, 640), 1.6, 64, 0),  # non-square network input (h=384, w=640)
        ((17, 33), (64, 64), 64 / 33, 0, 15),  # odd size: 33x17 → 64x33, pad (64-33)//2
    ],
)
def test_letterbox_placement(frame, net, scale, pad_x, pad_y):
    box = Letterbox.fit(frame, net)
    assert box.scale == pytest.approx(scale)
    assert (box.pad_x, box.pad_y) == (pad_x, pad_y)


def test_inverse_mapping_hand_computed():
    box = Letterbox.fit((720, 1280), (640, 640))  # scale 0.5, pad_y 140
    net_boxes = np.array([[100, 140, 300, 340], [0, 0, 640, 640]], np.float32)
    frame_boxes = box.to_frame(net_boxes)
    np.testing.assert_allclose(frame_boxes[0], [200, 0, 600, 400])
    # Boxes reaching into the padding are clipped to the frame.
    np.testing.assert_allclose(frame_boxes[1], [0, 0, 1280, 720])


def test_tensor_layout_and_padding():
    frame = np.zeros((32, 64, 3), np.uint8)
    frame[..., 0] = 255  # pure red
    tensor, box = Preprocessor((64, 64))(frame)
    assert tensor.shape == (1, 3, 64, 64) and tensor.dtype == np.float32
    assert (box.scale, box.pad_y) == (1.0, 16)
    np.testing.assert_allclose(tensor[0, :, 16:48, :].reshape(3, -1).mean(axis=1), [1, 0, 0])
    np.testing.assert_allclose(tensor[0, :, :16, :], PAD_VALUE / 255, rtol=1e-6)
    np.testing.assert_allclose(tensor[0, :, 48:, :], PAD_VALUE / 255, rtol=1e-6)


def test_preprocessor_recomputes_for_a_new_frame_size():
    pre = Preprocessor((64, 64))
    _, wide = pre(np.zeros((32, 64, 3), np.uint8))
    tensor, tall = pre(np.full((64, 32, 3), 255, np.uint8))
    assert (wide.pad_x, wide.pad_y) == (0, 16)
    assert (tall.pad_x, tall.pad_y) == (16, 0)
    # The old bars of the wide frame must not survive in the new tensor.
    np.testing.assert_allclose(tensor[0, :, :, :16], PAD_VALUE / 255, rtol=1e-6)
    np.testing.assert_allclose(tensor[0, :, :, 16:48], 1.0)


@pytest.mark.parametrize(
    "frame",
    [
        np.full((5, 7), 200, np.uint8),
        np.full((5, 7, 1), 200, np.uint8),
        np.full((5, 7, 4), 200, np.uint8),
        np.full((5, 7, 3), 200 * 257, np.uint16),
    ],
    ids=["gray", "gray1", "rgba", "rgb16"],
)
def test_as_rgb_accepts_gray_rgba_and_16_bit(frame):
    rgb = as_rgb(frame)
    assert rgb.shape == (5, 7, 3) and rgb.dtype == np.uint8
    assert (rgb == 200).all()


def test_as_rgb_rejects_other_shapes():
    with pytest.raises(ValueError):
        as_rgb(np.zeros((5, 7, 2), np.uint8))
