import { describe, expect, it } from 'vitest';
import { InvalidModelError } from '../../../lib/features/errors';
import type { WeightSpec } from '../../../lib/features/models/artifacts';
import {
  declaredInputSize,
  freeGraphInputSize,
  selectWeights,
  totalWeightBytes,
  truncateLayersTopology,
  weightByteLength,
  weightLayer,
} from '../../../lib/features/models/artifacts';
import { readNsfwjsArtifacts } from '../../../lib/features/models/package-files';

describe('weight buffers', () => {
  const specs: WeightSpec[] = [
    { name: 'conv/kernel', shape: [3, 3, 3, 2], dtype: 'float32' },
    { name: 'conv/bias', shape: [2], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.1, min: -1 } },
    { name: 'dense/kernel', shape: [4, 2], dtype: 'float32', quantization: { dtype: 'float16' } },
    { name: 'dense/bias', shape: [2], dtype: 'int32' },
  ];

  it('sizes each weight by its stored (possibly quantised) type', () => {
    expect(specs.map(weightByteLength)).toEqual([216, 2, 16, 8]);
    expect(totalWeightBytes(specs)).toBe(242);
    expect(() => weightByteLength({ name: 's', shape: [1], dtype: 'string' })).toThrow(InvalidModelError);
  });

  it('keeps the selected weights with exactly their bytes', () => {
    const data = Uint8Array.from({ length: 242 }, (_, i) => i % 251);
    const kept = selectWeights(specs, data, (name) => weightLayer(name) === 'dense');
    expect(kept.specs.map((s) => s.name)).toEqual(['dense/kernel', 'dense/bias']);
    expect(Array.from(kept.data)).toEqual(Array.from(data.subarray(218, 242)));
    expect(weightLayer('block_1/depthwise/kernel')).toBe('block_1');
  });
});

describe('layers topology surgery', () => {
  const functional = {
    model_config: {
      class_name: 'Model',
      config: {
        name: 'm',
        layers: [
          { name: 'input_1', class_name: 'InputLayer', config: { name: 'input_1', batch_input_shape: [null, 224, 224, 3] } },
          { name: 'conv', class_name: 'Conv2D', config: { name: 'conv' } },
          { name: 'pool', class_name: 'AveragePooling2D', config: { name: 'pool' } },
          { name: 'dense', class_name: 'Dense', config: { name: 'dense' } },
        ],
        input_layers: [['input_1', 0, 0]],
        output_layers: [['dense', 0, 0]],
      },
    },
  };

  it('cuts a functional model after the feature layer and frees the input size', () => {
    const { topology, keptLayers } = truncateLayersTopology(functional, 'conv', 96);
    const cfg = (topology.model_config as typeof functional.model_config).config;
    expect(cfg.layers.map((l) => l.name)).toEqual(['input_1', 'conv']);
    expect(cfg.output_layers).toEqual([['conv', 0, 0]]);
    expect(cfg.layers[0].config.batch_input_shape).toEqual([null, 96, 96, 3]);
    expect([...keptLayers]).toEqual(['input_1', 'conv']);
    // The original is untouched.
    expect(functional.model_config.config.layers).toHaveLength(4);
    expect(declaredInputSize(functional)).toBe(224);
    expect(declaredInputSize(topology)).toBe(96);
  });

  it('cuts a sequential model', () => {
    const sequential = {
      class_name: 'Sequential',
      config: { name: 's', layers: [{ class_name: 'Conv2D', config: { name: 'c1', batch_input_shape: [null, 32, 32, 3] } }, { class_name: 'Dense', config: { name: 'd' } }] },
    };
    const { topology } = truncateLayersTopology(sequential, 'c1', undefined);
    expect((topology.config as typeof sequential.config).layers.map((l) => l.config.name)).toEqual(['c1']);
    expect(declaredInputSize(topology)).toBe(32);
  });

  it('names the missing layer', () => {
    expect(() => truncateLayersTopology(functional, 'nope', 96)).toThrow(/no layer named "nope" \(last layers: input_1, conv, pool, dense\)/);
    expect(() => truncateLayersTopology({ model_config: { class_name: 'Model', config: {} } }, 'x', 1)).toThrow(InvalidModelError);
  });
});

describe('bundled nsfwjs artifacts', () => {
  it('reads the graph model from node_modules and frees its input placeholder', () => {
    const artifacts = readNsfwjsArtifacts('mobilenet_v2_mid');
    expect(artifacts.format).toBe('graph-model');
    expect(declaredInputSize(artifacts.modelTopology)).toBe(224);
    const freed = freeGraphInputSize(artifacts.modelTopology);
    expect(declaredInputSize(freed)).toBeUndefined();
    expect((artifacts.weightData as ArrayBuffer).byteLength).toBe(totalWeightBytes(artifacts.weightSpecs ?? []));
  });
});
