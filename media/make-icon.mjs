// Writes media/icon.svg (a 4x4 patch grid going from noise to a clean shape: denoising in pixel space) and
// renders it to media/icon.png (128 x 128) with sharp. Run: node media/make-icon.mjs
import * as fs from 'fs';
import * as path from 'path';
import sharp from 'sharp';

const here = path.dirname(new URL(import.meta.url).pathname);
const N = 4;
const cell = 22;
const gap = 3;
const origin = (128 - (N * cell + (N - 1) * gap)) / 2;
// A fixed pseudo-random sequence (the icon must not change between runs).
let seed = 7;
const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);

const clean = ['#3794ff', '#3794ff', '#3794ff', '#2a5fa8'];
const tiles = [];
for (let r = 0; r < N; r++) {
  for (let c = 0; c < N; c++) {
    const x = origin + c * (cell + gap);
    const y = origin + r * (cell + gap);
    // t grows along the anti-diagonal: noise at the top left, data at the bottom right.
    const t = (r + c) / (2 * (N - 1));
    if (t < 0.5) {
      const g = Math.round(60 + 150 * rand());
      tiles.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" rx="3" fill="rgb(${g},${Math.round(g * (0.8 + 0.3 * rand()))},${Math.round(g * (0.9 + 0.3 * rand()))})"/>`);
      for (let k = 0; k < 3; k++) {
        const s = 5 + Math.round(4 * rand());
        tiles.push(`<rect x="${(x + rand() * (cell - s)).toFixed(1)}" y="${(y + rand() * (cell - s)).toFixed(1)}" width="${s}" height="${s}" fill="#${rand() < 0.5 ? 'e8e8f0' : '2b2f3d'}" opacity="0.7"/>`);
      }
    } else {
      tiles.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" rx="3" fill="${clean[(r + c) % clean.length]}" opacity="${(0.45 + 0.55 * t).toFixed(2)}"/>`);
    }
  }
}
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" viewBox="0 0 128 128">
  <rect width="128" height="128" rx="22" fill="#14161f"/>
  ${tiles.join('\n  ')}
  <circle cx="${origin + 2.5 * (cell + gap) + cell / 2 - 0.5 * gap}" cy="${origin + 2.5 * (cell + gap) + cell / 2 - 0.5 * gap}" r="20" fill="none" stroke="#ffb454" stroke-width="6"/>
</svg>
`;
fs.writeFileSync(path.join(here, 'icon.svg'), svg);
await sharp(Buffer.from(svg)).png({ compressionLevel: 9 }).toFile(path.join(here, 'icon.png'));
console.log('wrote media/icon.svg and media/icon.png');
