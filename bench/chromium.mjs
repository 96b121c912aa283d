// Shared parts of the Chromium benchmarks (call-setup.mjs, mesh-bitrate.mjs):
// the browser with a smaller fake camera, the machine description and small
// statistics. The server, rooms and pages come from tests/browser/helpers.mjs.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

import { CHROMIUM_ARGS, CHROMIUM_BINARY, REPO_ROOT, SERVER_BINARY } from '../tests/browser/helpers.mjs';

// playwright-core is installed under tests/ (`npm ci --prefix tests`), not beside bench/.
const { chromium } = createRequire(path.join(REPO_ROOT, 'tests/package.json'))('playwright-core');

/**
 * @typedef {{ width: number, height: number, frameRate: number }} VideoFormat
 */

/**
 * Parses a camera format such as "320x240@15". Returns null for "client",
 * which keeps the client's own request (1280x720 at up to 30 frames/s in
 * web/js/media.js).
 *
 * @param {string} text
 * @returns {VideoFormat | null}
 */
export function parseVideoFormat(text) {
  if (text === 'client') return null;
  const match = /^(\d+)x(\d+)@(\d+)$/.exec(text);
  const [width, height, frameRate] = match ? match.slice(1).map(Number) : [];
  if (!match || width < 16 || height < 16 || width > 1920 || height > 1080 || frameRate < 1 || frameRate > 30) {
    throw new Error(`invalid --video ${JSON.stringify(text)}: expected WIDTHxHEIGHT@FPS up to 1920x1080@30, or "client"`);
  }
  return { width, height, frameRate };
}

/** Formats a camera format for output, such as "320x240 at 15 frames/s". */
export function describeVideoFormat(format) {
  return format ? `${format.width}x${format.height} at ${format.frameRate} frames/s` : "the client's own format (1280x720 at 30 frames/s)";
}

/**
 * Makes every getUserMedia call of the page ask for `format` instead of the
 * client's video constraints. Chromium's fake camera then delivers frames of
 * that size, scaled and with frames dropped as needed, which makes encoding
 * and decoding cheaper for 8 pages on 2 cores. Must run before the page
 * loads the client.
 *
 * @param {import('playwright-core').Page} page
 * @param {VideoFormat | null} format null leaves the client's constraints alone
 */
export async function limitCameraFormat(page, format) {
  if (!format) return;
  await page.addInitScript(({ width, height, frameRate }) => {
    const devices = navigator.mediaDevices;
    if (!devices) return;
    const getUserMedia = devices.getUserMedia.bind(devices);
    devices.getUserMedia = (constraints) => {
      if (!constraints?.video) return getUserMedia(constraints);
      // Keep the device id of a camera switch, replace only the format.
      const video = typeof constraints.video === 'object' ? constraints.video : {};
      return getUserMedia({
        ...constraints,
        video: { ...video, width: { exact: width }, height: { exact: height }, frameRate: { max: frameRate } },
      });
    };
  }, format);
}

/**
 * Launches headless Chromium with the flags of the browser tests. With
 * `videoFile`, the fake camera plays that Y4M file in a loop instead of its
 * own animated test pattern.
 *
 * @param {{ videoFile?: string }} [options]
 */
export async function launchBenchBrowser({ videoFile } = {}) {
  const args = videoFile ? [...CHROMIUM_ARGS, `--use-file-for-fake-video-capture=${videoFile}`] : CHROMIUM_ARGS;
  return chromium.launch({ executablePath: CHROMIUM_BINARY, headless: true, args });
}

/**
 * Writes a Y4M video of uniformly random luma and flat grey chroma. Noise
 * cannot be compressed, so an encoder sending it uses all the bitrate it is
 * allowed. Chromium 156's test pattern needed about 150 kbit/s at 320x240
 * and 15 frames/s in a trial, whatever the limit.
 *
 * @param {string} file
 * @param {VideoFormat & { frames: number }} format
 */
export async function writeNoiseVideo(file, { width, height, frameRate, frames }) {
  if (width % 2 !== 0 || height % 2 !== 0) throw new Error(`invalid --video ${width}x${height}: the noise video needs an even width and height for 4:2:0 chroma`);
  const chroma = Buffer.alloc((width / 2) * (height / 2) * 2, 128);
  const parts = [Buffer.from(`YUV4MPEG2 W${width} H${height} F${frameRate}:1 Ip A1:1 C420jpeg\n`)];
  for (let frame = 0; frame < frames; frame += 1) {
    parts.push(Buffer.from('FRAME\n'), randomBytes(width * height), chroma);
  }
  await writeFile(file, Buffer.concat(parts));
}

/** Returns the three load averages of /proc/loadavg as text, such as "0.41 0.52 0.60". */
export function loadAverages() {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function packageVersion(name) {
  const manifest = JSON.parse(await readFile(path.join(REPO_ROOT, 'tests/node_modules', name, 'package.json'), 'utf8'));
  return manifest.version;
}

/**
 * Returns the lines that describe the run: date, machine, load, software and
 * server, for the head of a benchmark's output.
 *
 * @param {import('playwright-core').Browser} browser
 * @param {{ origin: string }} server
 */
export async function describeRun(browser, server) {
  const cpus = os.cpus();
  return [
    `date:           ${new Date().toISOString()}`,
    `cpu:            ${cpus[0]?.model ?? 'unknown'}, ${cpus.length} logical cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    `os:             ${os.type()} ${os.release()}`,
    `load average:   ${loadAverages()} (1, 5, 15 min) at the start`,
    `chromium:       ${browser.version()} (headless, fake camera and microphone)`,
    `node:           ${process.version}, playwright-core ${await packageVersion('playwright-core')}`,
    `server:         ${path.relative(REPO_ROOT, SERVER_BINARY)} at ${server.origin}`,
  ];
}
