/** Relay settings and alerts. STUB: to be implemented. @module */
import type { ClientContext } from './context.js'
import type { ClientAlert, EditOptions, ReadOptions, RelaySettings, RelaySettingsChange, RelaySettingsResult } from './types.js'

/** @internal */
export async function readRelaySettings(_context: ClientContext, _options: ReadOptions = {}): Promise<RelaySettings> {
  throw new Error('not implemented')
}

/** @internal */
export async function setRelays(_context: ClientContext, _change: RelaySettingsChange, _options: EditOptions = {}): Promise<RelaySettingsResult> {
  throw new Error('not implemented')
}

/** @internal */
export async function listAlerts(_context: ClientContext): Promise<ClientAlert[]> {
  throw new Error('not implemented')
}
