import { describe, expect, it } from 'vitest';
import { createEndpointResolver } from './endpoint.ts';

describe('endpoint resolution of repeated requests', () => {
  const resolver = createEndpointResolver({
    endpoints: [
      { name: 'item', match: 'GET https://api.example.com/v1/items/:id' },
      { name: 'tenant', match: '*/v1/tenants/*', keyHeader: 'x-tenant' },
    ],
  });

  it('a repeated method, origin and path is matched once: the same resolution comes back', () => {
    const first = resolver.resolve('GET', new URL('https://api.example.com/v1/items/7?page=1'));
    const again = resolver.resolve('GET', new URL('https://api.example.com/v1/items/7?page=2#top'));
    expect(again).toBe(first);
    expect(first).toMatchObject({ key: 'item https://api.example.com', name: 'item' });
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('per-id paths of one rule share one resolution: ids do not each take a cache entry (issue 17)', () => {
    // Resolved before the ids: were each id an entry, 2 000 of them would push it out of the bound.
    const other = resolver.resolve('GET', new URL('https://other.example.com/v1/items/1'));
    const first = resolver.resolve('GET', new URL('https://api.example.com/v1/items/1'));
    for (let id = 2; id < 2_000; id++) {
      expect(resolver.resolve('GET', new URL(`https://api.example.com/v1/items/${id}`))).toBe(first);
    }
    expect(resolver.resolve('GET', new URL('https://api.example.com/v1/items/1/parts')).name).toBe('default');
    expect(resolver.resolve('GET', new URL('https://api.example.com/v1/items/caf%C3%A9'))).toBe(first);
    expect(resolver.resolve('GET', new URL('https://other.example.com/v1/items/1'))).toBe(other);
  });

  it('the method, the origin and the path each still decide the match', () => {
    const url = new URL('https://api.example.com/v1/items/7');
    expect(resolver.resolve('GET', url).name).toBe('item');
    expect(resolver.resolve('POST', url).name).toBe('default');
    expect(resolver.resolve('GET', new URL('https://other.example.com/v1/items/7')).key).toBe(
      'default https://other.example.com',
    );
    expect(resolver.resolve('GET', new URL('https://api.example.com/v1/items/7/parts')).name).toBe('default');
  });

  it('hosts of a scheme whose URL origin is "null" (foo://) are told apart', () => {
    expect(resolver.resolve('GET', new URL('foo://a.example/x')).key).toBe('default foo://a.example');
    expect(resolver.resolve('GET', new URL('foo://b.example/x')).key).toBe('default foo://b.example');
  });

  it('a partitioning header is read on every request, whatever was matched before', () => {
    const url = new URL('https://api.example.com/v1/tenants/a');
    const key = (tenant: string) => resolver.resolve('GET', url, new Headers({ 'x-tenant': tenant })).key;
    expect(key('alpha')).toBe('tenant https://api.example.com x-tenant=alpha');
    expect(key('beta')).toBe('tenant https://api.example.com x-tenant=beta');
  });

  it('stays correct past its bound (2 000 origins, 512 kept), for old and new origins alike', () => {
    const keyOf = (i: number) =>
      resolver.resolve('GET', new URL(`https://h${i}.example.com/v1/items/${i}`)).key;
    for (let i = 0; i < 2_000; i++) expect(keyOf(i)).toBe(`default https://h${i}.example.com`);
    expect(keyOf(3)).toBe('default https://h3.example.com');
    expect(resolver.resolve('GET', new URL('https://api.example.com/v1/items/1')).name).toBe('item');
  });
});
