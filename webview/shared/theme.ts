// Chart colours from the active VS Code theme (canvas drawing needs concrete colours, not CSS variables).
import { cssVar, isHighContrast } from './dom';

export interface ChartTheme {
  foreground: string;
  muted: string;
  grid: string;
  /** Main run first, then overlays. */
  series: string[];
  density: string;
  lineWidth: number;
  font: string;
}

let probe: CanvasRenderingContext2D | null = null;

/** Any CSS colour with an alpha, via the canvas's own colour parser. */
export function withAlpha(color: string, alpha: number): string {
  probe ??= document.createElement('canvas').getContext('2d');
  if (!probe) return color;
  probe.fillStyle = '#000000';
  probe.fillStyle = color;
  const c = String(probe.fillStyle);
  if (c.startsWith('#') && c.length === 7) {
    const n = parseInt(c.slice(1), 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  }
  const m = /rgba?\(([^)]+)\)/.exec(c);
  if (m) {
    const [r, g, b] = m[1].split(',').map((x) => x.trim());
    return `rgba(${r}, ${g}, ${b}, ${alpha})`;
  }
  return c;
}

export function chartTheme(): ChartTheme {
  const hc = isHighContrast();
  const foreground = cssVar('--vscode-foreground', '#cccccc');
  const family = cssVar('--vscode-font-family', 'sans-serif');
  const size = cssVar('--vscode-font-size', '13px');
  return {
    foreground,
    muted: cssVar('--vscode-descriptionForeground', foreground),
    grid: hc ? withAlpha(cssVar('--vscode-contrastBorder', foreground), 0.5) : withAlpha(foreground, 0.12),
    series: ['--vscode-charts-blue', '--vscode-charts-orange', '--vscode-charts-green', '--vscode-charts-purple', '--vscode-charts-red', '--vscode-charts-yellow']
      .map((v, i) => cssVar(v, ['#3794ff', '#d18616', '#89d185', '#b180d7', '#f14c4c', '#cca700'][i])),
    density: cssVar('--vscode-charts-lines', withAlpha(foreground, 0.5)),
    lineWidth: hc ? 2.5 : 1.75,
    font: `${size} ${family}`,
  };
}
