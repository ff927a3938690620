/**
 * The Worker entry. Module scope runs once per isolate, so the app and its lazily loaded model and
 * label sets are shared by every request the isolate serves.
 */
import { createDefaultApp } from './default-app.ts';

export default createDefaultApp();
