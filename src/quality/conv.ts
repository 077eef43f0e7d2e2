// A 3x3 'same' convolution (NHWC, stride 1) with gradients that the wasm backend can compute. tfjs-backend-wasm
// registers Conv2D and Conv2DBackpropInput but not Conv2DBackpropFilter, so tf.conv2d cannot be trained there; and
// an im2col formulation (nine shifted slices concatenated on the channel axis) was 5-7x slower than this, because
// concatenating narrow channel slices is slow on wasm. Here every part is a plain conv2d, which XNNPACK runs fast:
//   dx = conv(dy, w rotated by 180 degrees with in/out swapped)             (the transposed convolution)
//   dw = conv(x^T, dy^T): the batch becomes the channel axis and dy the filter (the standard filter-gradient trick)
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';

type Conv = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor4D;

/** dL/dw [3, 3, Cin, Cout] of y = conv3x3(x, w) from x [B, H, W, Cin] and dy [B, H, W, Cout]. */
function filterGradient(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor4D {
  const xt = tf.transpose(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), [3, 1, 2, 0]) as tf.Tensor4D; // [Cin, H+2, W+2, B]
  const f = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [H, W, B, Cout]
  return tf.transpose(tf.conv2d(xt, f, 1, 'valid'), [1, 2, 0, 3]); // [Cin, 3, 3, Cout] -> [3, 3, Cin, Cout]
}

/** dL/dx [B, H, W, Cin] from dy [B, H, W, Cout] and w [3, 3, Cin, Cout]. */
function inputGradient(dy: tf.Tensor4D, w: tf.Tensor4D): tf.Tensor4D {
  return tf.conv2d(dy, tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D, 1, 'same');
}

function make(withInputGradient: boolean): Conv {
  const f = tf.customGrad(((x: tf.Tensor4D, w: tf.Tensor4D, save: tf.GradSaveFunc) => {
    save([x, w]);
    return {
      value: tf.conv2d(x, w, 1, 'same'),
      gradFunc: (dy: tf.Tensor4D, [xs, ws]: tf.Tensor[]) => [
        withInputGradient ? inputGradient(dy, ws as tf.Tensor4D) : tf.zerosLike(xs),
        filterGradient(xs as tf.Tensor4D, dy),
      ],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f as unknown as Conv;
}

/** y [B, H, W, Cout] = x [B, H, W, Cin] convolved with w [3, 3, Cin, Cout], zero padding 1. */
export const conv3x3: Conv = make(true);

/** The same for a layer whose input needs no gradient (the images): skips the input-gradient convolution. */
export const conv3x3FirstLayer: Conv = make(false);
