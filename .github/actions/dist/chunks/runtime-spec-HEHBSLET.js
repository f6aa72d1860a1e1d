import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a,b}from"./chunk-MVEJXBJQ.js";import"./chunk-MFSDRNWF.js";import"./chunk-3P2IYOZR.js";import"./chunk-O7R5QR6M.js";import"./chunk-I3GPN2KU.js";export{b as resourcesFromStackOutputs,a as runtimeSpec};
