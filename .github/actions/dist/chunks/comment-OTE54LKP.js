import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a,b}from"./chunk-NXGX6JHD.js";import"./chunk-I3GPN2KU.js";export{a as PREVIEW_MARKER,b as upsertComment};
