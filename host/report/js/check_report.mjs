// Checks a Marquee HTML report (`project --report`, `eval-recs --report`); exits 1 naming what failed.
//
//   node host/report/js/check_report.mjs REPORT.html                 every chart's Vega-Lite spec compiles and
//                                                                     renders to SVG with Vega itself (no
//                                                                     browser; "container" width taken as 1000)
//   node host/report/js/check_report.mjs REPORT.html --dom DOM.html [--min-width PX]
//       also checks what a browser drew: DOM.html is the page's DOM after its scripts ran (Chromium's
//       --dump-dom, scripts/check_reports.sh): every chart drawn (<body data-charts="N drawn, 0 failed">),
//       each chart's SVG at least PX wide (default 800: charts fill the page), and a legend in each chart
//       whose spec has one.
import fs from 'fs';
import * as vl from 'vega-lite';
import * as vega from 'vega';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const html = fs.readFileSync(args[0], 'utf8');
const failures = [];

// The data the page was made from (the job's JSON result), embedded verbatim.
const data = /<script type="application\/json" id="marquee-data">\n(.*)\n<\/script>/.exec(html);
if (!data) failures.push('no <script id="marquee-data"> element');
else JSON.parse(data[1].replace(/<\\\//g, '</'));

// A spec "has a legend" where a colour encoding (of any layer) is not switched off.
const hasLegend = (spec) =>
  [spec, ...(spec.layer || [])].some((s) => s.encoding && s.encoding.color && s.encoding.color.legend !== null);

const specs = [];
const re = /^draw\("([^"]+)", (\{.*\})\);$/gm;
let m;
while ((m = re.exec(html))) {
  const id = m[1];
  const spec = JSON.parse(m[2].replace(/<\\\//g, '</'));
  specs.push({id, spec});
  try {
    const headless = JSON.parse(JSON.stringify(spec));
    if (headless.width === 'container') headless.width = 1000;
    const view = new vega.View(vega.parse(vl.compile(headless).spec), {renderer: 'none'});
    const svg = await view.toSVG();
    const marks = (svg.match(/<path|<rect|<line/g) || []).length;
    console.log(id, 'ok', svg.length, 'bytes of SVG,', marks, 'marks');
    if (marks === 0) failures.push(`${id}: no marks drawn`);
  } catch (e) {
    failures.push(`${id}: ${e.message}`);
  }
}
if (specs.length === 0) failures.push('no charts (no draw("chart-...", {...}); lines)');
console.log(specs.length, 'charts');

const domPath = option('--dom');
if (domPath) {
  const dom = fs.readFileSync(domPath, 'utf8');
  const minWidth = Number(option('--min-width', 800));
  const tally = /<body[^>]*data-charts="(\d+) drawn, (\d+) failed"/.exec(dom);
  if (!tally) failures.push('browser: the charts never finished drawing (no data-charts on <body>)');
  else if (Number(tally[1]) !== specs.length || Number(tally[2]) !== 0)
    failures.push(`browser: ${tally[1]} drawn, ${tally[2]} failed of ${specs.length}`);
  for (const {id, spec} of specs) {
    const start = dom.indexOf(`id="${id}"`);
    const next = dom.indexOf('id="chart-', start + 1);
    const div = start < 0 ? '' : dom.slice(start, next < 0 ? undefined : next);
    const svg = /<svg[^>]*\bwidth="([\d.]+)"/.exec(div);
    if (!svg) {
      failures.push(`browser: ${id} has no SVG`);
      continue;
    }
    const legend = div.includes('role-legend');
    console.log(id, 'drawn', Math.round(Number(svg[1])), 'px wide', legend ? 'with a legend' : '');
    if (Number(svg[1]) < minWidth) failures.push(`browser: ${id} is ${svg[1]} px wide, under ${minWidth}`);
    if (hasLegend(spec) && !legend) failures.push(`browser: ${id} has no legend`);
  }
}
if (failures.length) {
  console.error('FAILED:\n  ' + failures.join('\n  '));
  process.exit(1);
}
console.log('report ok');
