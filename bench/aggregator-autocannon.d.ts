// Minimal types for the parts of autocannon 9 the aggregator bench uses (the package ships none).
declare module 'autocannon' {
  interface Percentiles {
    average: number;
    p50: number;
    p90: number;
    p97_5: number;
    p99: number;
    max: number;
  }
  interface Result {
    latency: Percentiles;
    requests: { total: number; average: number };
    errors: number;
    timeouts: number;
    non2xx: number;
    '2xx': number;
  }
  interface Options {
    url: string;
    connections?: number;
    duration?: number;
    overallRate?: number;
    requests?: {
      method?: string;
      path?: string;
      setupRequest?: (req: { path: string }) => { path: string };
    }[];
  }
  function autocannon(options: Options): Promise<Result>;
  export = autocannon;
}
