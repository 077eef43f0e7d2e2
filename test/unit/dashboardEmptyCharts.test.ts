// Empty dashboard charts say what they wait for instead of drawing axes over zeros: the wording, and the built
// dashboard page in Chromium fed the messages the extension host sends (before the first step, after it, and for
// a run that does not log some quantities).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { EMPTY_CHARTS, emptyChartMessage } from '../../webview/dashboard/emptyCharts';

const ROOT = path.join(__dirname, '..', '..');
const CHROMIUM = process.env.JIT_E2E_CHROMIUM || '/usr/bin/chromium';

/** Page-side code (plain JavaScript: it runs in the page, not in Node): a 'run' message as the host posts it, and
 * what each chart shows. */
const PAGE_HELPERS = `
window.posted = [];
function pack(c, names, n) {
  const data = new Float64Array(names.length * n).fill(NaN);
  names.forEach((name, j) => (c[name] || []).forEach((v, i) => (data[j * n + i] = v)));
  return { buffer: data.buffer, columns: names.map((name, j) => ({ name, offset: j * n, length: n })) };
}
function showRun({ state, rows, cols, quality }) {
  const metricNames = ['step', 'loss', 'lr', 'gradNorm', 'imagesPerSec', 'seconds', 'imagesSeen', 'rssMB', 'epoch', ...Array.from({ length: 10 }, (_, b) => 'lossByT' + b)];
  const qualityNames = ['step', 'seconds', 'imagesSeen', 'epoch', 'fd', 'fdFloor', 'classAccuracy', 'precision', 'recall', 'seam'];
  window.postMessage({
    type: 'run', runDir: '/runs/a', series: pack(cols, metricNames, rows), quality: pack(quality, qualityNames, (quality.step || []).length),
    status: { state, step: rows, totalSteps: 100 }, runs: [],
    run: { id: 'a', preset: 'JiT-Ti/16', dataset: 'built-in shapes', created: '', engine: 'ONNX Runtime', devices: '—', config: [], totalSteps: 100, pMean: -0.8, pStd: 0.8, xAxes: ['step'] },
  }, '*');
}
function charts() {
  const out = {};
  const shown = (e) => e.offsetParent !== null;
  for (const id of ['loss-chart', 't-chart', 'lr-chart', 'grad-chart', 'ips-chart', 'memory-chart', 'fd-chart', 'accuracy-chart', 'seam-chart']) {
    const host = document.getElementById(id);
    const note = host.previousElementSibling; // a chart's note is the paragraph just before it
    const noteShown = note.classList.contains('empty') && shown(note);
    if (shown(host) && noteShown) throw new Error(id + ': the chart and its note are both shown');
    if (!shown(host) && !noteShown && !host.parentElement.closest('[hidden]')) throw new Error(id + ': neither the chart nor its note is shown');
    out[id] = shown(host) ? null : noteShown ? note.textContent : 'hidden with its card row';
  }
  return out;
}`;

describe('empty dashboard charts', function () {
  it('say what they wait for while training, that nothing is logged yet, or that the run does not log the quantity', () => {
    assert.strictEqual(emptyChartMessage(EMPTY_CHARTS.lossByT, [], 0, 'training'), 'Waiting for the first training step: the loss by t appears with it.');
    assert.strictEqual(emptyChartMessage(EMPTY_CHARTS.lr, [], 0, 'stopped'), 'No steps logged for this run yet.');
    assert.strictEqual(emptyChartMessage(EMPTY_CHARTS.gradNorm, [null, null], 2, 'idle'), 'This run did not log the gradient norm.');
    assert.strictEqual(emptyChartMessage(EMPTY_CHARTS.rssMB, [NaN], 1, 'training'), 'This run did not log the memory of the training process.');
    assert.strictEqual(emptyChartMessage(EMPTY_CHARTS.fd, [], 0, 'training'), 'Waiting for the first sample-quality measurement: the Fréchet distance appears with it.');
    assert.strictEqual(emptyChartMessage(EMPTY_CHARTS.fd, [], 0, undefined), 'No sample-quality measurements in this run yet.');
    assert.match(emptyChartMessage(EMPTY_CHARTS.classAccuracy, [null], 1, 'training')!, /no classes/);
    // Any finite value is something to draw, a zero included.
    assert.strictEqual(emptyChartMessage(EMPTY_CHARTS.lr, [null, 0], 2, 'training'), undefined);
    assert.strictEqual(emptyChartMessage(EMPTY_CHARTS.loss, [0.31], 1, 'completed'), undefined);
  });

  describe('in the built dashboard page (Chromium)', function () {
    this.timeout(120_000);
    let browser: Browser | undefined;
    let page: Page;
    const errors: string[] = [];

    before(async function () {
      const bundle = path.join(ROOT, 'dist', 'webview', 'dashboard.js');
      if (!fs.existsSync(bundle)) throw new Error('dist/webview/dashboard.js is missing: run `npm run build` first (npm test does).');
      if (!fs.existsSync(CHROMIUM)) {
        console.log(`    skipped: no Chromium at ${CHROMIUM} (install Debian's chromium, or set JIT_E2E_CHROMIUM)`);
        this.skip();
      }
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
      page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      page.on('pageerror', (e) => errors.push(e.message));
      const css = fs.readFileSync(path.join(ROOT, 'dist', 'webview', 'dashboard.css'), 'utf8');
      await page.setContent(`<!DOCTYPE html><html><head><style>${css}</style></head><body class="vscode-dark"><main id="app"></main>
        <script>window.acquireVsCodeApi = () => ({ postMessage: (m) => window.posted.push(m), getState: () => undefined, setState: () => {} });
        ${PAGE_HELPERS}</script>
        <script>${fs.readFileSync(bundle, 'utf8').replace(/<\/script/g, '<\\/script')}</script></body></html>`);
      await page.waitForFunction('window.posted.some((m) => m.type === "ready")');
      assert.deepStrictEqual(errors, []);
    });

    afterEach(() => assert.deepStrictEqual(errors, [], 'the page threw'));

    after(async () => {
      await browser?.close();
    });

    /** Posts a 'run' message with `rows` steps; `cols` gives each column's values (missing columns are NaN). */
    async function showRun(state: string, rows: number, cols: Record<string, number[]>, quality: Record<string, number[]> = {}): Promise<void> {
      await page.evaluate(`showRun(${JSON.stringify({ state, rows, cols, quality })})`);
      await page.waitForFunction(`document.getElementById('loss-chart').dataset.points === '${rows}'`);
    }

    /** For each chart: the sentence shown in its place, or null when the chart is drawn. */
    function charts(): Promise<Record<string, string | null>> {
      return page.evaluate('charts()');
    }

    it('before the first step, every chart says it waits for the first step or measurement', async () => {
      await showRun('training', 0, {});
      const { 'fd-chart': fd, ...c } = await charts();
      const waiting = (what: string) => `Waiting for the first training step: ${what} appears with it.`;
      assert.deepStrictEqual(c, {
        'loss-chart': waiting('the loss'), 't-chart': waiting('the loss by t'), 'lr-chart': waiting('the learning rate'), 'grad-chart': waiting('the gradient norm'),
        'ips-chart': waiting('the training speed'), 'memory-chart': waiting('the memory of the training process'),
        'accuracy-chart': 'hidden with its card row', 'seam-chart': 'hidden with its card row',
      });
      assert.match(fd!, /^Waiting for the first sample-quality measurement: the Fréchet distance appears with it\. Training measures it whenever/);
      // Before the first measurement the card's one sentence stands for its three charts.
      assert.strictEqual(await page.locator('.quality-row').isVisible(), false);
    });

    it('after the first step and measurement, the charts are drawn', async () => {
      const bucket = Object.fromEntries(Array.from({ length: 10 }, (_, b) => [`lossByT${b}`, [0.2 + b / 100]]));
      await showRun('training', 1, { step: [1], loss: [0.3], lr: [1e-4], gradNorm: [2], imagesPerSec: [20], seconds: [1.5], imagesSeen: [32], rssMB: [400], ...bucket },
        { step: [1], seconds: [1.5], imagesSeen: [32], fd: [50], fdFloor: [2], classAccuracy: [0.2], precision: [0.1], recall: [0.1], seam: [1.3] });
      assert.deepStrictEqual(Object.values(await charts()), Array(9).fill(null));
    });

    it('a finished run that does not log some quantities says so for each', async () => {
      // As the official code's event files: loss and learning rate only; its data set has no classes.
      await showRun('idle', 3, { step: [1, 2, 3], loss: [0.5, 0.4, 0.35], lr: [1e-4, 1e-4, 1e-4] },
        { step: [3], seconds: [9], imagesSeen: [96], fd: [40], fdFloor: [2], precision: [0.2], recall: [0.2], seam: [1.1] });
      assert.deepStrictEqual(await charts(), {
        'loss-chart': null, 'lr-chart': null, 'fd-chart': null, 'seam-chart': null,
        't-chart': 'This run did not log the loss by t.', 'grad-chart': 'This run did not log the gradient norm.', 'ips-chart': 'This run did not log the training speed.',
        'memory-chart': 'This run did not log the memory of the training process.',
        'accuracy-chart': 'No class accuracy: the data set has no classes to check samples against.',
      });
    });
  });
});
