/**
 * `Static<typeof schema>`: the TypeScript type a JSON schema describes, for the small
 * subset of JSON Schema our HTTP shapes use (type, properties, required, items,
 * additionalProperties, enum, const, anyOf). Schemas are written once, `as const`, and the
 * types are derived from them, so a field cannot drift between validator and code.
 */

type Primitive<T> = T extends 'string' ? string
  : T extends 'integer' | 'number' ? number
  : T extends 'boolean' ? boolean
  : T extends 'null' ? null
  : T extends 'object' ? Record<string, unknown>
  : T extends 'array' ? unknown[]
  : never;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

type ObjectOf<P, R> = Simplify<
  { -readonly [K in keyof P as K extends R ? K : never]: Static<P[K]> } &
  { -readonly [K in keyof P as K extends R ? never : K]?: Static<P[K]> }
>;

type RequiredOf<S> = S extends { readonly required: readonly (infer R)[] } ? R : never;

export type Static<S> =
  S extends { readonly const: infer C } ? C
  : S extends { readonly enum: readonly (infer E)[] } ? E
  : S extends { readonly anyOf: readonly (infer U)[] } ? Static<U>
  : S extends { readonly type: 'object'; readonly properties: infer P } ? ObjectOf<P, RequiredOf<S>>
  : S extends { readonly type: 'object'; readonly additionalProperties: infer A } ? Record<string, Static<A>>
  : S extends { readonly type: 'array'; readonly items: infer I } ? Static<I>[]
  : S extends { readonly type: readonly (infer T)[] } ? Primitive<T>
  : S extends { readonly type: infer T } ? Primitive<T>
  : unknown;
