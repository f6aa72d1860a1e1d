import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a}from"./chunk-6EVE443N.js";import"./chunk-HO3AA3KO.js";import"./chunk-AM44VDFV.js";import"./chunk-I3GPN2KU.js";export{a as webIdentityToken};
