import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores on CI: threads are cheaper than forks here.
    pool: 'threads',
    // After every test: no sockets, servers or timers left behind (see the file's comment).
    setupFiles: ['test/helpers/leak-check.ts'],
  },
})
