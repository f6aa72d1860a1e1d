import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a,b}from"./chunk-O2DSZWPJ.js";import"./chunk-I3GPN2KU.js";export{a as exec,b as getExecOutput};
