import { describe, expect, it } from 'vitest';
import { configVersion, pauseImageFor, setTomlKey } from './containerd-config.ts';

describe('setTomlKey', () => {
  const toml = 'version = 2\n\n[a]\n  x = 1\n\n  [a.b]\n    y = false\n';

  it('replaces a key inside its table only', () => {
    expect(setTomlKey(toml, 'a.b', 'y', true)).toBe('version = 2\n\n[a]\n  x = 1\n\n  [a.b]\n    y = true\n');
  });

  it('inserts a missing key right after the table header, indented', () => {
    expect(setTomlKey(toml, 'a', 'z', 'q')).toBe('version = 2\n\n[a]\n  z = "q"\n  x = 1\n\n  [a.b]\n    y = false\n');
  });

  it('appends a missing table', () => {
    expect(setTomlKey(toml, 'c', 'k', 'v')).toBe(`${toml}\n[c]\n  k = "v"\n`);
  });

  it('is idempotent', () => {
    const once = setTomlKey(toml, 'a', 'z', 'q');
    expect(setTomlKey(once, 'a', 'z', 'q')).toBe(once);
  });
});

describe('containerd versions', () => {
  it('reads the config version and picks kubeadm pause images per minor', () => {
    expect(configVersion('root = "/x"\nversion = 2\n')).toBe(2);
    expect(configVersion("version = 3\nroot = '/x'\n")).toBe(3);
    expect(pauseImageFor('1.29.9')).toBe('registry.k8s.io/pause:3.9');
    expect(pauseImageFor('1.31.4')).toBe('registry.k8s.io/pause:3.10');
    expect(pauseImageFor('1.35.0')).toBe('registry.k8s.io/pause:3.10.1');
    expect(pauseImageFor('1.36.3')).toBe('registry.k8s.io/pause:3.10.2');
    expect(pauseImageFor('1.37.2')).toBe('registry.k8s.io/pause:3.10.2');
  });
});
