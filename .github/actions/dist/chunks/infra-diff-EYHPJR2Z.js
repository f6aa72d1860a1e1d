import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
import{a,b,c,d,e,f}from"./chunk-OU4EPM4E.js";import"./chunk-I3GPN2KU.js";export{a as INFRA_DIFF_MARKER,d as countByAction,f as diffStacks,b as parseCdkDiff,e as renderDiffComment,c as stackTable};
