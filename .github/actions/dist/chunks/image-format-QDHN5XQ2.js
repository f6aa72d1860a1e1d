import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a,b,c,d,e,f,g,h,i}from"./chunk-U4PGFX2D.js";import"./chunk-4MGV2M73.js";import"./chunk-KAZGNOUB.js";import"./chunk-O7R5QR6M.js";import"./chunk-I3GPN2KU.js";export{c as AGENT_BUNDLE_LAYER,d as BUNDLE_FILE_ANNOTATION,b as OCI_CONFIG,a as OCI_MANIFEST,h as imageConfigSchema,g as manifestSchema,f as packImage,i as parseManifest,e as sha256};
