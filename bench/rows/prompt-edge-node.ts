/**
 * prompt-edge's request path (JPEG decode, CLIP preprocessing, image encoder, scoring against the
 * baked class embeddings) run in Node on onnxruntime-node with its default session options: the
 * runtime and threads Transformers.js's pipeline uses in Node. Set against the pipeline, it
 * isolates what baking the class embeddings saves from what WASM vs native costs.
 */
import { readFileSync } from 'node:fs';
import * as ortNode from 'onnxruntime-node';
import { ClipImageProcessor } from '../../src/core/image/clip-image-processor.ts';
import { decodeImage } from '../../src/core/image/decode.ts';
import { decodeLabelSet } from '../../src/core/labelset/artifact.ts';
import { classifyEmbedding } from '../../src/core/scoring.ts';
import { initNodeImageCodecs } from '../../src/train/image-codecs-node.ts';
import { summarize, timeRuns, type LatencySummary } from '../lib/stats.ts';

export interface PromptEdgeNodeResult {
  readonly model: string;
  readonly labels: number;
  readonly total: LatencySummary;
  readonly top: string;
}

export async function runPromptEdgeNode(
  model: string,
  onnxPath: string,
  preprocessorConfigPath: string,
  labelSetPaths: readonly string[],
  jpeg: Uint8Array,
  opts: { n: number; warmup: number },
): Promise<PromptEdgeNodeResult[]> {
  await initNodeImageCodecs();
  const processor = ClipImageProcessor.fromConfig(JSON.parse(readFileSync(preprocessorConfigPath, 'utf8')));
  const session = await ortNode.InferenceSession.create(onnxPath);
  const { height, width } = processor.cropSize;
  try {
    const out: PromptEdgeNodeResult[] = [];
    for (const path of labelSetPaths) {
      const labelSet = decodeLabelSet(new Uint8Array(readFileSync(path)));
      let top = '';
      const times = await timeRuns(opts.n, opts.warmup, async () => {
        const pixels = processor.preprocess(await decodeImage(jpeg));
        const res = await session.run({ [session.inputNames[0]!]: new ortNode.Tensor('float32', pixels, [1, 3, height, width]) });
        const emb = res[session.outputNames.includes('image_embeds') ? 'image_embeds' : session.outputNames[0]!]!.data as Float32Array;
        top = classifyEmbedding(emb, labelSet.classEmbeddings, labelSet.labels, labelSet.logitScale, 5).top[0]!.label;
      });
      out.push({ model, labels: labelSet.labels.length, total: summarize(times), top });
    }
    return out;
  } finally {
    await session.release();
  }
}
