import * as fs from "fs";
import * as path from "path";
import Mustache from "mustache";

/** The project's files/: templates, the base image's build script and package list, the thesis' example jobs. */
export const FILES_DIR = path.join(__dirname, "..", "files");

/**
 * Renders files/<template> with mustache, without HTML escaping (config files
 * are not HTML: `/` must stay `/`). Views are prepared and sorted by the
 * caller, so a rendering depends on its input only.
 */
export function render(template: string, view: object): string {
    const text = fs.readFileSync(path.join(FILES_DIR, template), "utf8");
    return Mustache.render(text, view, {}, { escape: (s: string) => s });
}
