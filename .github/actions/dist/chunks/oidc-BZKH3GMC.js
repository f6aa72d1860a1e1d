import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a}from"./chunk-NLIG4S5E.js";import"./chunk-7674JVXR.js";import"./chunk-O2DSZWPJ.js";import"./chunk-I3GPN2KU.js";export{a as webIdentityToken};
