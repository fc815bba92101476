// Renders every chart of a `marquee project --report` page headlessly with Vega itself (no browser):
// compiles each embedded Vega-Lite spec and draws it to SVG. Usage: node host/report/js/check_report.mjs REPORT.html
import fs from 'fs';
import * as vl from 'vega-lite';
import * as vega from 'vega';
const html = fs.readFileSync(process.argv[2], 'utf8');
const re = /vegaEmbed\("#([^"]+)", (\{.*\}), \{actions/g;
let m, n = 0;
while ((m = re.exec(html))) {
  const spec = JSON.parse(m[2].replace(/<\\\//g, '</'));
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), {renderer: 'none'});
  const svg = await view.toSVG();
  console.log(m[1], 'ok', svg.length, 'bytes of SVG,', (svg.match(/<path|<rect|<line/g) || []).length, 'marks');
  n++;
}
console.log(n, 'charts');
