/**
 * A small, dependency-free SVG line chart for the demo: recall (%) against connection budget, one
 * polyline per approach, with axes, ticks, a legend and a caption. Pure: it returns the SVG text
 * and touches no file, so it can be checked on its own.
 *
 * @module
 */

/** One point of a series. */
export interface ChartPoint {
  /** Connection budget (relays). */
  readonly x: number
  /** Recall, in percent (0-100). */
  readonly y: number
}

/** One line of the chart. */
export interface ChartSeries {
  readonly label: string
  /** CSS colour of the line and its markers. */
  readonly color: string
  /** Drawn dashed (for a baseline). @default false */
  readonly dashed?: boolean
  /** A dot on each point, with its value as a tooltip. @default true */
  readonly markers?: boolean
  /** Points, in any order (they are drawn sorted by x). */
  readonly points: readonly ChartPoint[]
}

/** What {@link recallChartSvg} draws. */
export interface RecallChart {
  readonly title: string
  /** One or more lines of small text under the plot: how the numbers were obtained. */
  readonly caption: readonly string[]
  readonly xLabel: string
  readonly yLabel: string
  /** Ticks on the x axis; the axis spans their range. */
  readonly xTicks: readonly number[]
  readonly series: readonly ChartSeries[]
}

const WIDTH = 720
const PLOT = { left: 70, right: 690, top: 50, bottom: 330 }
const Y_TICKS = [0, 20, 40, 60, 80, 100]

/** Escapes text for an SVG text node or attribute. */
function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/** Two decimals at most, without trailing zeros: coordinates stay short and stable. */
function n(value: number): string {
  return String(Math.round(value * 100) / 100)
}

/**
 * Renders the chart as a standalone SVG document.
 *
 * @param chart - title, caption, axis labels, x ticks and the series (y in percent).
 * @returns the SVG text (UTF-8, starts with `<svg`).
 * @throws RangeError when there are fewer than two x ticks or a series has no points.
 * @example
 * ```ts
 * import { recallChartSvg } from './chart.js'
 * const svg = recallChartSvg({
 *   title: 'Recall against connection budget', caption: ['measured on the wire'],
 *   xLabel: 'connection budget (relays)', yLabel: 'recall (%)', xTicks: [2, 10, 20],
 *   series: [{ label: 'outbox', color: '#1f77b4', points: [{ x: 2, y: 78 }, { x: 20, y: 95 }] }],
 * })
 * ```
 */
export function recallChartSvg(chart: RecallChart): string {
  if (chart.xTicks.length < 2) throw new RangeError('xTicks must hold at least two values')
  for (const s of chart.series) if (s.points.length === 0) throw new RangeError(`series "${s.label}" has no points`)
  const xMin = Math.min(...chart.xTicks)
  const xMax = Math.max(...chart.xTicks)
  const px = (x: number): number => PLOT.left + ((x - xMin) / (xMax - xMin)) * (PLOT.right - PLOT.left)
  const py = (y: number): number => PLOT.bottom - (Math.max(0, Math.min(100, y)) / 100) * (PLOT.bottom - PLOT.top)
  const captionTop = PLOT.bottom + 62
  const height = captionTop + chart.caption.length * 16 + 10

  const out: string[] = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${WIDTH / 2}" y="26" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(chart.title)}</text>`,
  )
  // Grid and y ticks.
  for (const y of Y_TICKS) {
    out.push(
      `<line x1="${PLOT.left}" y1="${n(py(y))}" x2="${PLOT.right}" y2="${n(py(y))}" stroke="#e5e5e5"/>`,
      `<text x="${PLOT.left - 8}" y="${n(py(y) + 4)}" text-anchor="end">${y}</text>`,
    )
  }
  // x ticks.
  for (const x of chart.xTicks) {
    out.push(
      `<line x1="${n(px(x))}" y1="${PLOT.bottom}" x2="${n(px(x))}" y2="${PLOT.bottom + 5}" stroke="#333"/>`,
      `<text x="${n(px(x))}" y="${PLOT.bottom + 19}" text-anchor="middle">${x}</text>`,
    )
  }
  // Axes and their labels.
  out.push(
    `<line x1="${PLOT.left}" y1="${PLOT.bottom}" x2="${PLOT.right}" y2="${PLOT.bottom}" stroke="#333"/>`,
    `<line x1="${PLOT.left}" y1="${PLOT.top}" x2="${PLOT.left}" y2="${PLOT.bottom}" stroke="#333"/>`,
    `<text x="${(PLOT.left + PLOT.right) / 2}" y="${PLOT.bottom + 40}" text-anchor="middle">${escapeXml(chart.xLabel)}</text>`,
    `<text x="18" y="${(PLOT.top + PLOT.bottom) / 2}" text-anchor="middle" transform="rotate(-90 18 ${(PLOT.top + PLOT.bottom) / 2})">${escapeXml(chart.yLabel)}</text>`,
  )
  // The lines, each with a marker per point.
  for (const s of chart.series) {
    const points = [...s.points].sort((a, b) => a.x - b.x)
    const coords = points.map((p) => `${n(px(p.x))},${n(py(p.y))}`).join(' ')
    out.push(
      `<polyline class="series" data-label="${escapeXml(s.label)}" fill="none" stroke="${escapeXml(s.color)}" stroke-width="2.5"${s.dashed === true ? ' stroke-dasharray="7 5"' : ''} points="${coords}"/>`,
    )
    for (const p of s.markers === false ? [] : points) {
      out.push(`<circle cx="${n(px(p.x))}" cy="${n(py(p.y))}" r="3.5" fill="${escapeXml(s.color)}"><title>${escapeXml(`${s.label}: budget ${p.x}, recall ${p.y.toFixed(1)}%`)}</title></circle>`)
    }
  }
  // Legend, bottom right of the plot (where recall lines rarely are).
  const legendX = PLOT.right - 270
  chart.series.forEach((s, i) => {
    const y = PLOT.bottom - 20 - (chart.series.length - 1 - i) * 20
    out.push(
      `<rect x="${legendX - 8}" y="${y - 13}" width="278" height="20" fill="#ffffff" fill-opacity="0.85"/>`,
      `<line x1="${legendX}" y1="${y - 4}" x2="${legendX + 28}" y2="${y - 4}" stroke="${escapeXml(s.color)}" stroke-width="2.5"${s.dashed === true ? ' stroke-dasharray="7 5"' : ''}/>`,
      `<text x="${legendX + 36}" y="${y}">${escapeXml(s.label)}</text>`,
    )
  })
  chart.caption.forEach((line, i) => {
    out.push(`<text x="${PLOT.left}" y="${captionTop + i * 16}" font-size="11" fill="#555">${escapeXml(line)}</text>`)
  })
  out.push('</svg>')
  return `${out.join('\n')}\n`
}
