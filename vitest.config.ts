import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Sandbox scenarios start their own local DynamoDB; files run in separate workers.
    pool: 'forks',
    // Both cores: much of a test run waits on child processes (osls package, the CLI), so two workers
    // finish well ahead of vitest's default of one worker on a 2-core machine.
    maxWorkers: 2,
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      SHIPLINE_LOG_LEVEL: 'SILENT',
    },
  },
});
