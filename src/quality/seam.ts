// The patch-seam score: JiT predicts each patch from its own token, and an undertrained or badly configured model
// shows edges at the patch period. Per image set, the energy of horizontal and vertical neighbour differences that
// cross a patch boundary over the energy of those inside patches; the score divides the samples' ratio by the real
// images' (1.0 = no seams, 2 = twice as much change across boundaries as real images have).

export interface SeamEnergy {
  /** Mean squared neighbour difference across patch boundaries. */
  across: number;
  /** Mean squared neighbour difference inside patches. */
  inside: number;
}

/** Energies of NCHW images [n, C, S, S] for patches of side p (boundaries between pixel p*i - 1 and p*i). */
export function seamEnergy(images: Float32Array, n: number, channels: number, size: number, patch: number): SeamEnergy {
  if (images.length !== n * channels * size * size) throw new Error(`Expected ${n} images of ${channels} x ${size} x ${size}, got ${images.length} values.`);
  let across = 0;
  let acrossCount = 0;
  let inside = 0;
  let insideCount = 0;
  /** A neighbour difference d between pixels k - 1 and k along a row or column. */
  const add = (d: number, k: number) => {
    if (k % patch === 0) {
      across += d * d;
      acrossCount++;
    } else {
      inside += d * d;
      insideCount++;
    }
  };
  for (let plane = 0; plane < n * channels; plane++) {
    const base = plane * size * size;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const v = images[base + y * size + x];
        if (x + 1 < size) add(images[base + y * size + x + 1] - v, x + 1);
        if (y + 1 < size) add(images[base + (y + 1) * size + x] - v, y + 1);
      }
    }
  }
  return { across: acrossCount ? across / acrossCount : NaN, inside: insideCount ? inside / insideCount : NaN };
}

/**
 * The samples' across/inside ratio over the real images'. Null where it is undefined: no patch boundary inside the
 * image (one patch), or images without any change inside patches (flat, e.g. an untrained model's grey output).
 */
export function seamScore(samples: SeamEnergy, real: SeamEnergy): number | null {
  const ratio = (e: SeamEnergy) => (e.inside > 0 && Number.isFinite(e.across) ? e.across / e.inside : NaN);
  const score = ratio(samples) / ratio(real);
  return Number.isFinite(score) ? score : null;
}
