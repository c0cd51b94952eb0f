// 9. Every page in the navigation of `admin`, at 1366×768 and 390×844: see e2e/every-page.mjs for the checks.
import { everyPageOf } from '../every-page.mjs';

everyPageOf('admin');
