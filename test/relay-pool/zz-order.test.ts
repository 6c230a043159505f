import { it, expect, afterEach, beforeEach, describe } from 'vitest'
import { startScriptedRelay, type ScriptedRelay } from '../helpers/scripted-relay.js'
import { openRawClient, type RawClient } from '../helpers/relay-fleet.js'
let r: ScriptedRelay, c: RawClient
beforeEach(async () => { r = await startScriptedRelay(); c = await openRawClient(r.url) })
afterEach(async () => { await c.close(); await r.close() })
it('uses per-test relay closed in afterEach', async () => { expect(await c.query([{}])).toEqual([]) })
describe('nested', () => {
  let c2: RawClient
  beforeEach(async () => { c2 = await openRawClient(r.url) })
  afterEach(async () => { await c2.close() })
  it('nested ok', async () => { expect(await c2.query([{}])).toEqual([]) })
})
