import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a}from"./chunk-7MA2CMJJ.js";import"./chunk-XUGEDAFV.js";import"./chunk-I3GPN2KU.js";export{a as webIdentityToken};
