/**
 * The Get Started walkthrough in a real VS Code (code-server in Chromium, see harness.ts), followed as a new user
 * would: its buttons train with the defaults, sample, and inspect; the dashboard and the trajectory viewer are
 * reached as its texts say. Each step must be unchecked until its action has really happened, and checked after.
 *
 *   bash test/e2e/setup.sh   # once
 *   npx mocha --no-config --require tsx/cjs --timeout 900000 test/e2e/walkthrough.test.ts
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import type { Frame, Page } from 'playwright-core';
import { defaultCodeServerBin, findFrame, runCommand, waitForNotification } from './harness';
import { Session, cleanScreenshot, escapeQuickInput, openSession, packageExtension, quickInput, requireCodeServer, until, recordFailure } from './setupExtension';

const WALKTHROUGH = 'Get Started with JiT Explorer';
const STEPS = ['train', 'dashboard', 'sample', 'trajectory', 'inspect'] as const;
type Step = (typeof STEPS)[number];

describe('The Get Started walkthrough in a real VS Code', function () {
  this.timeout(900_000);
  const bin = defaultCodeServerBin();
  let s: Session | undefined;
  let page: Page;

  before(async function () {
    requireCodeServer(this, bin);
    packageExtension();
    // Previews and periodic checkpoints are slow on two cores; stopping still writes a checkpoint.
    s = await openSession(bin, 'jit-e2e-walkthrough-', () => undefined, { 'jit.sampleEvery': 100000, 'jit.checkpointEvery': 100000 });
    page = s.page;
  });

  afterEach(async function () {
    await recordFailure(this, page, 'walkthrough');
  });

  after(async function () {
    await s?.close();
  });

  const step = (id: Step) => page.locator(`button.getting-started-step[data-step-id$="#${id}"]`);

  /** Opens the walkthrough with "Welcome: Open Walkthrough..." (again: an action may have put another editor in front). */
  async function openWalkthrough(): Promise<void> {
    const widget = page.locator('.quick-input-widget');
    await runCommand(page, 'welcome.showAllWalkthroughs', {
      what: `a quick pick listing "${WALKTHROUGH}"`,
      probe: () => widget.locator('.quick-input-list .monaco-list-row', { hasText: WALKTHROUGH }).first().isVisible(),
    });
    await widget.locator('.quick-input-box input').fill(WALKTHROUGH);
    await widget.locator('.quick-input-box input').press('Enter');
    await step('train').waitFor({ state: 'visible', timeout: 60_000 });
    await settle();
  }

  /**
   * Waits out the walkthrough's late focus: a step it selects (opened, or clicked) takes the keyboard 250 ms later
   * (VS Code's slide transition), away from a quick pick its button opened meanwhile, so the Enter meant for that
   * quick pick reached the step instead. A timer the page starts after that one fires after it, on a loaded machine
   * too: no wall-clock guess.
   */
  async function settle(): Promise<void> {
    await page.evaluate('new Promise((resolve) => setTimeout(resolve, 500))');
  }

  /**
   * Presses Enter in the quick input `what` once any late focus of the walkthrough has fired: when the keyboard goes
   * back to a step button between two questions of a command, the walkthrough takes it 250 ms later, and this
   * catches it every time instead of now and then.
   */
  async function answer(what: string): Promise<void> {
    await settle();
    await quickInput(page, undefined, what);
  }

  /** The steps whose checkbox is ticked, after waiting up to `waitMs` for `expected` (the page re-renders on context changes). */
  async function doneSteps(expected: Step[], waitMs = 15_000): Promise<Step[]> {
    const read = async () => {
      const done: Step[] = [];
      for (const id of STEPS) if ((await step(id).getAttribute('aria-checked')) === 'true') done.push(id);
      return done;
    };
    try {
      return await until(`the steps ${expected.join(', ') || '(none)'} done`, async () => {
        const done = await read();
        return done.join() === expected.join() ? done : undefined;
      }, waitMs);
    } catch {
      return read();
    }
  }

  /** Expands a step and presses the button of its description. */
  async function pressStepButton(id: Step, label: string): Promise<void> {
    await step(id).click();
    await settle();
    await page.locator('.getting-started-step.expanded').getByRole('button', { name: label, exact: true }).click();
  }

  let dashboard: Frame;
  let gallery: Frame;

  it('lists its five steps, none done before anything happened', async function () {
    await openWalkthrough();
    assert.deepStrictEqual(await doneSteps([], 2_000), []);
    await cleanScreenshot(page, 'walkthrough-start');
  });

  it('Escape at the second question of "Train a Model" ends it: no question follows, no run starts, no step is done', async function () {
    await pressStepButton('train', 'Train a Model');
    await answer('dataset');
    await settle();
    await escapeQuickInput(page, 'model preset');
    assert.strictEqual(await page.locator('.tabs-container .tab', { hasText: /^JiT: / }).count(), 0, 'no dashboard opened');
    assert.ok(!fs.existsSync(path.join(s!.workspace, '.jit')), 'nothing was written into the workspace');
    await openWalkthrough();
    assert.deepStrictEqual(await doneSteps([], 2_000), []);
  });

  it('"Train a Model", Enter through the quick picks: the train and dashboard steps are done once the first loss point arrived', async function () {
    await pressStepButton('train', 'Train a Model');
    await answer('dataset');
    await answer('model preset');
    await answer('training steps');
    await answer('batch size');
    dashboard = await findFrame(page, '#loss-chart', 120_000);
    await until('the first loss point', async () => (Number(await dashboard.locator('#loss-chart').getAttribute('data-points').catch(() => '0')) > 0 ? true : undefined), 300_000);
    await openWalkthrough();
    assert.deepStrictEqual(await doneSteps(['train', 'dashboard']), ['train', 'dashboard']);
    // Stop from the dashboard (its tab, behind the walkthrough now): stopping writes the checkpoint the next steps use.
    await page.locator('.tabs-container .tab', { hasText: /^JiT: / }).first().click();
    dashboard = await findFrame(page, '#loss-chart', 60_000);
    await dashboard.locator('button', { hasText: /^Stop$/ }).click();
    await waitForNotification(page, /stopped at step \d+ with checkpoint step-\d+\.safetensors/, 180_000);
  });

  it('"Sample Images" with the default settings: the sample step is done once the grid is written', async function () {
    await openWalkthrough();
    assert.deepStrictEqual(await doneSteps(['train', 'dashboard'], 2_000), ['train', 'dashboard'], 'stopping completes no further step');
    await pressStepButton('sample', 'Sample Images');
    await answer('Sample Images — from which checkpoint');
    await answer('JiT: Sample Images from');
    gallery = await findFrame(page, 'figure.entry.sample img.thumb', 300_000);
    await openWalkthrough();
    assert.deepStrictEqual(await doneSteps(['train', 'dashboard', 'sample']), ['train', 'dashboard', 'sample']);
  });

  it('a click on a sample in the Sample Gallery: the trajectory step is done once the viewer loaded it', async function () {
    await pressStepButton('trajectory', 'Show the Sample Gallery');
    gallery = await findFrame(page, 'figure.entry.sample img.thumb', 60_000);
    await gallery.locator('figure.entry.sample img.thumb').first().click({ position: { x: 5, y: 5 } });
    await findFrame(page, '.strip[aria-label="predicted clean image at every step"] canvas', 120_000);
    await openWalkthrough();
    assert.deepStrictEqual(await doneSteps(['train', 'dashboard', 'sample', 'trajectory']), ['train', 'dashboard', 'sample', 'trajectory']);
  });

  it('"Inspect a Checkpoint": the last step is done once the inspector read the checkpoint', async function () {
    await pressStepButton('inspect', 'Inspect a Checkpoint');
    await answer('Inspect Checkpoint');
    await findFrame(page, '.jit-inspector nav.tree details.module', 120_000);
    await openWalkthrough();
    assert.deepStrictEqual(await doneSteps([...STEPS]), [...STEPS]);
    await cleanScreenshot(page, 'walkthrough-done');
  });
});
