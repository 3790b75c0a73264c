// oidc-provider ships no type declarations and @types/oidc-provider is not a dependency: the stand-in types
// the few parts it touches itself (see types.ts).
declare module 'oidc-provider';
