// The CLIP BPE merges every Stable Diffusion 1.x/2.x tokenizer uses (merges.txt, "#version: 0.2"
// header included), built into sdedit so a single-file checkpoint needs nothing else.
#pragma once

const char *sd_clip_merges(void);
unsigned long sd_clip_merges_size(void);
