// js-yaml 3 is installed (a Jest dependency) without its @types package; the deploy tests
// only need these two functions. Both parse YAML 1.1 with merge keys (`<<: [*a, *b]`), which
// docker-compose.yml uses.
declare module 'js-yaml' {
  export function load(text: string): unknown;
  export function loadAll(text: string): unknown[];
}
