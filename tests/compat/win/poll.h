/* stand-in: see mt_win_posix.h (force-included) */
