import { readFileSync } from 'node:fs'

/** Reads a vector file from test/vectors (verbatim copies of ../shared/specs/vectors). */
export function readVector(name: string): string {
  return readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8')
}

/** Parses a JSON vector file from test/vectors. */
export function readJsonVector<T = any>(name: string): T {
  return JSON.parse(readVector(name)) as T
}
