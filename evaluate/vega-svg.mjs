// Renders vega-lite specs to SVG, headless: JSON {name: spec} on stdin, JSON
// {name: svg} on stdout. A separate ES module because vega and vega-lite are
// ES modules with top-level await, which the CommonJS program cannot require.
import * as vega from "vega";
import * as vl from "vega-lite";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const specs = JSON.parse(input);
const out = {};
for (const [name, spec] of Object.entries(specs)) {
    const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: "none" });
    out[name] = await view.toSVG();
    view.finalize();
}
process.stdout.write(JSON.stringify(out));
