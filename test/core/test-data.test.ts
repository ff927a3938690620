import { describe, expect, it } from 'vitest';
import { SHARED, sharedPath } from '../helpers/shared.ts';

describe('test data from ../shared', () => {
  it('gives the path of a file that is there', () => {
    expect(sharedPath(SHARED.openAiBpe)).toMatch(/\/models\/clip-bpe\/bpe_simple_vocab_16e6\.txt\.gz$/);
  });

  it('fails with a message that names a missing file and where to read about it', () => {
    expect(() => sharedPath('datasets/no-such-set/x.jpg')).toThrow(/needs \.\.\/shared\/datasets\/no-such-set\/x\.jpg \(.*\/shared\/datasets\/no-such-set\/x\.jpg\), which is missing.*README\.md, "Test data: \.\.\/shared"/);
  });
});
