DROP TABLE firm_directory;
