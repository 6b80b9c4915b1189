import { describe, expect, it } from 'vitest';
import { AWS_SDK_NODE_WARNING_SWITCH, quietAwsSdk } from '../src/index.js';

describe('quietAwsSdk', () => {
  it("turns the SDK's Node.js version notice off, unless the environment already says", () => {
    const unset: NodeJS.ProcessEnv = {};
    quietAwsSdk(unset);
    expect(unset[AWS_SDK_NODE_WARNING_SWITCH]).toBe('true');
    const chosen: NodeJS.ProcessEnv = { [AWS_SDK_NODE_WARNING_SWITCH]: 'false' };
    quietAwsSdk(chosen);
    expect(chosen[AWS_SDK_NODE_WARNING_SWITCH]).toBe('false');
  });
});
