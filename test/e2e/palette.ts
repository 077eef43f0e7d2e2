/**
 * The command palette as a person uses it: Ctrl+Shift+P, type a command's title, read the rows it lists, press
 * Enter. VS Code lists the matching commands recently used first, then alphabetically (not by how well they
 * match), so a title that also matches another command's title may not come first.
 */
import type { Page } from 'playwright-core';
import { Effect, expectEffect, focusWorkbench } from './commandKeys';
import { step } from './screenshots';
import { sleep } from './wait';

const widget = (page: Page) => page.locator('.quick-input-widget');

/** Opens the palette, types `>title` and returns the labels of the rows it settles on, in order (palette left open). */
export async function paletteRows(page: Page, title: string): Promise<string[]> {
  await focusWorkbench(page);
  return step(page, `typing "${title}" in the command palette`, async () => {
    if (await widget(page).isVisible()) throw new Error('a quick input is already open');
    await page.keyboard.press('Control+Shift+P');
    await widget(page).waitFor({ state: 'visible', timeout: 10_000 }).catch(() => {
      throw new Error('Control+Shift+P did not open the command palette within 10 s');
    });
    const input = widget(page).locator('.quick-input-box input');
    await input.fill(`>${title}`);
    // The list filters as the text changes: read it until two reads 400 ms apart agree.
    let last = '';
    for (let i = 0; i < 50; i++) {
      const labels = await widget(page).locator('.quick-input-list .monaco-list-row').evaluateAll((rows) =>
        rows.map((r) => (r.querySelector('.label-name')?.textContent ?? r.getAttribute('aria-label') ?? '').replace(/\s+/g, ' ').trim()));
      const now = JSON.stringify(labels);
      if (now === last && (await input.inputValue()) === `>${title}`) return labels;
      last = now;
      await sleep(400);
    }
    throw new Error(`the rows kept changing: ${last}`);
  });
}

/** Closes the palette (Escape) and waits until it is gone. */
export async function closePalette(page: Page): Promise<void> {
  await page.keyboard.press('Escape');
  await widget(page).waitFor({ state: 'hidden', timeout: 10_000 });
}

/** Types a command's title in the palette, checks that it is the first row, presses Enter and checks the effect. */
export async function runFromPalette(page: Page, title: string, effect: Effect): Promise<void> {
  const rows = await paletteRows(page, title);
  if (rows[0] !== title) throw new Error(`typing "${title}" in the command palette lists ${JSON.stringify(rows.slice(0, 5))} first, not that command`);
  await page.keyboard.press('Enter');
  await expectEffect(page, `"${title}" from the command palette`, effect);
}
