// The browser feed reader (see index.html for how to run it): reads a person's follow list, then
// the recent posts of everyone they follow from those people's own write relays (the outbox
// model), and shows the report of the read: which relays were asked about whom, which failed, and
// who may be missing posts.
//
// Everything shown comes from the network, so it is written with `textContent`, never as HTML.
import { createClient, isRendezvousError, parsePerson } from 'nostr-rendezvous'
import { nip19 } from 'nostr-rendezvous/crypto'

const DEFAULT_INDEXERS = ['wss://purplepag.es', 'wss://relay.nos.social']

const $ = (id) => document.getElementById(id)

/** The options from the query string (the form submits there too). */
function readOptions(params) {
  const indexers = params
    .getAll('indexer')
    .flatMap((value) => value.split(/[\s,]+/))
    .filter((url) => url !== '')
  const limit = Number.parseInt(params.get('limit') ?? '', 10)
  return {
    person: (params.get('npub') ?? '').trim(),
    indexers: indexers.length > 0 ? indexers : DEFAULT_INDEXERS,
    limit: Number.isInteger(limit) && limit > 0 ? Math.min(limit, 500) : 20,
    allowPrivate: params.get('allowPrivate') === '1',
  }
}

/** Puts the options back in the form, so the page shows what it read. */
function fillForm(options) {
  $('npub').value = options.person
  $('indexer').value = options.indexers.join(' ')
  $('limit').value = String(options.limit)
  $('allowPrivate').checked = options.allowPrivate
}

function setState(state, text) {
  // `data-state` (loading, done, error) lets scripts and tests wait for the page.
  document.body.dataset.state = state
  $('status').textContent = text
}

const shortNpub = (pubkey) => `${nip19.npubEncode(pubkey).slice(0, 14)}…`

function showPosts(events) {
  const list = $('posts')
  list.replaceChildren()
  for (const event of events) {
    const article = document.createElement('article')
    article.className = 'post'
    article.dataset.id = event.id
    const header = document.createElement('header')
    const when = new Date(event.created_at * 1000).toLocaleString()
    header.textContent = `${shortNpub(event.pubkey)} · ${when}${event.kind === 6 ? ' · repost' : ''}`
    const text = document.createElement('p')
    text.textContent = event.content
    article.append(header, text)
    list.append(article)
  }
  if (events.length === 0) list.textContent = 'No posts found.'
  $('posts-section').hidden = false
}

function showReport(page) {
  const { report } = page
  const failed = report.relays.filter((relay) => relay.status !== 'eose')
  $('summary').textContent =
    `${page.events.length} posts from ${report.connections} relays ` + `(${failed.length} failed) in ${report.ms} ms.`

  const rows = $('relays')
  rows.replaceChildren()
  for (const relay of report.relays) {
    const row = document.createElement('tr')
    row.dataset.relay = relay.url
    row.dataset.status = relay.status
    const status = relay.message ? `${relay.status} (${relay.message})` : relay.status
    for (const [text, className] of [
      [relay.url, ''],
      [status, relay.status === 'eose' ? '' : 'failed'],
      [`${relay.authors.length} ${relay.authors.length === 1 ? 'author' : 'authors'}`, ''],
      [String(relay.events), ''],
    ]) {
      const cell = document.createElement('td')
      cell.textContent = text
      if (className) cell.className = className
      row.append(cell)
    }
    rows.append(row)
  }

  // Who may be missing posts, and why (no known relays, the connection budget, failures...).
  const missing = $('missing')
  missing.replaceChildren()
  for (const { pubkey, reason } of report.missing) {
    const item = document.createElement('li')
    item.dataset.pubkey = pubkey
    item.textContent = `${shortNpub(pubkey)} may be missing posts: ${reason}`
    missing.append(item)
  }
  $('report-section').hidden = false
}

async function main() {
  const options = readOptions(new URLSearchParams(location.search))
  fillForm(options)
  if (options.person === '') {
    setState('idle', 'Enter a person to read their feed.')
    return
  }

  let pubkey
  try {
    pubkey = parsePerson(options.person).pubkey
  } catch {
    setState('error', '')
    $('error').textContent = 'That is not an npub, nprofile or hex public key.'
    $('error').hidden = false
    return
  }

  // Read-only: no signer, only whose follows to read.
  const client = createClient({
    pubkey,
    indexerRelays: options.indexers,
    pool: options.allowPrivate ? { connect: { allowPrivateHosts: true } } : {},
  })
  try {
    setState('loading', 'Reading the follow list…')
    const { follows } = await client.follows()
    setState('loading', `Follows ${follows.length} people. Reading their posts…`)
    const page = await client.feed({
      limit: options.limit,
      onProgress: ({ relaysDone, relaysTotal, events }) =>
        setState('loading', `Follows ${follows.length} people. ${relaysDone}/${relaysTotal} relays done, ${events} posts so far…`),
    })
    showPosts(page.events)
    showReport(page)
    setState('done', `${shortNpub(pubkey)} follows ${follows.length} people.`)
  } catch (error) {
    // Expected failures carry a stable code; anything else is a bug and goes to the console too.
    if (!isRendezvousError(error)) console.error(error)
    setState('error', '')
    $('error').textContent = isRendezvousError(error) ? `${error.message} (${error.code})` : String(error)
    $('error').hidden = false
  } finally {
    await client.close()
  }
}

main()
