import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;

/**
 * pgjdbc's ResultSetMetaData of each query given, as tests/test_column_origin.py compares
 * it with PostgreSQL's: what it reads from the RowDescription (type, typmod: precision,
 * scale, display size) and what it looks up by the column's table OID and number
 * (table, schema, nullability, auto-increment). One line per column.
 * Usage: java -cp postgresql.jar:. JdbcColumnOrigin JDBC_URL QUERY...
 */
public class JdbcColumnOrigin {
    public static void main(String[] args) throws Exception {
        try (Connection conn = DriverManager.getConnection(args[0])) {
            for (int q = 1; q < args.length; q++) {
                try (Statement st = conn.createStatement();
                     ResultSet rs = st.executeQuery(args[q])) {
                    ResultSetMetaData md = rs.getMetaData();
                    for (int i = 1; i <= md.getColumnCount(); i++) {
                        System.out.println(q + " | " + md.getColumnName(i) + " | "
                            + md.getColumnLabel(i) + " | " + md.getTableName(i) + " | "
                            + md.getSchemaName(i) + " | " + md.isNullable(i) + " | "
                            + md.isAutoIncrement(i) + " | " + md.getColumnType(i) + " | "
                            + md.getColumnTypeName(i) + " | " + md.getPrecision(i) + " | "
                            + md.getScale(i) + " | " + md.getColumnDisplaySize(i));
                    }
                }
            }
        }
    }
}
